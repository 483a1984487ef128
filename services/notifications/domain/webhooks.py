"""Webhook signing, verification and the retry schedule. Pure: time and randomness are injected.

A receiver verifies ``Waypoint-Signature`` = ``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``Waypoint-Timestamp`` (Unix seconds), rejects stale timestamps, and uses
``Waypoint-Delivery-Id`` to drop a message it already processed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGNATURE_HEADER = "Waypoint-Signature"
TIMESTAMP_HEADER = "Waypoint-Timestamp"
DELIVERY_HEADER = "Waypoint-Delivery-Id"
EVENT_TYPE_HEADER = "Waypoint-Event-Type"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def signed_headers(secret: str, body: bytes, timestamp: int, delivery_id: str, event_type: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        EVENT_TYPE_HEADER: event_type,
    }


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """True only for an untampered body signed with ``secret`` within ``tolerance`` of ``now``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), given)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``max_attempts`` counts the first try."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("a retry policy needs max_attempts >= 1 and 0 < base <= cap")


def backoff_delay(attempt: int, policy: RetryPolicy, random: Callable[[], float]) -> timedelta:
    """Wait after failed try number ``attempt`` (1-based): half fixed, half jitter.

    The ceiling doubles each try up to ``cap``; the jitter (``random()`` in [0, 1)) spreads
    receivers' recoveries so that retries from many deliveries do not arrive in lockstep.
    """
    ceiling: timedelta = min(policy.cap, policy.base * (2 ** min(attempt - 1, 40)))
    half: timedelta = ceiling / 2
    return half + half * random()


def next_retry(attempt: int, policy: RetryPolicy, now: datetime, random: Callable[[], float]) -> datetime | None:
    """When to try again after failed try ``attempt``, or None: give up (NotificationFailed)."""
    if attempt >= policy.max_attempts:
        return None
    return now + backoff_delay(attempt, policy, random)
