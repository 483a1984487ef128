"""Bounds on what a client may send, so that nothing it sends reaches the database out of range.

A number PostgreSQL cannot hold (a 4,000-digit version, a bigint past 2^63) or an identifier longer
than any column would otherwise fail deep in a query as a 500; these bounds make it a 422.
"""

from __future__ import annotations

#: stream and plan versions are INTEGER columns
MAX_VERSION = 2**31 - 1
#: BIGINT / BIGSERIAL row ids
MAX_BIGINT = 2**63 - 1
#: identifiers from the identity provider (``sub``) and other opaque ids kept in VARCHAR/TEXT columns
MAX_ID_LENGTH = 200
#: request bodies larger than this get 413 before anything parses them
DEFAULT_MAX_BODY_BYTES = 256 * 1024
#: the largest page any list endpoint returns
MAX_PAGE_SIZE = 500
