"""Which PostgreSQL failures are transient (retry, never dead-letter) and which are not."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import is_transient_database_error
from shared.inbox import is_transient

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.QueryCanceledError,  # 57014: statement_timeout, pg_cancel_backend
        asyncpg.LockNotAvailableError,  # 55P03: NOWAIT, lock_timeout
        asyncpg.CannotConnectNowError,  # 57P03: starting up, recovering
        asyncpg.DiskFullError,  # 53100
        asyncpg.OutOfMemoryError,  # 53200
        asyncpg.TooManyConnectionsError,  # 53300
        asyncpg.AdminShutdownError,  # 57P01
        asyncpg.SerializationError,  # 40001
        asyncpg.DeadlockDetectedError,  # 40P01
        asyncpg.PostgresIOError,  # 58030
    ],
)
def test_postgresql_in_trouble_is_transient(error):
    assert is_transient_database_error(error("busy"))
    assert is_transient(error("busy"))


@pytest.mark.parametrize(
    "error",
    [asyncpg.UniqueViolationError, asyncpg.UndefinedTableError, asyncpg.InvalidTextRepresentationError,
     asyncpg.CheckViolationError],
)
def test_a_wrong_statement_or_row_is_not_transient(error):
    assert not is_transient(error("bug"))


def test_a_lost_connection_is_transient():
    assert is_transient(asyncpg.InterfaceError("connection is closed"))
    assert is_transient(ConnectionResetError())
    assert not is_transient(KeyError("bug"))
