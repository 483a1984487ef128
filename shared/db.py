"""asyncpg pools and migrations.

Pools are created by the service's lifespan (never at import). JSON columns are passed as text
and cast in SQL, which keeps the hot path free of per-value codec calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from shared.tenancy import ScopedConnection


async def _release(conn: asyncpg.Connection) -> None:
    """Nothing beyond asyncpg's own clean-up (drop listeners, roll back an open transaction).

    asyncpg's default reset runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    on every release: one more round trip and four statements per command. Waypoint keeps no
    session state on pooled connections (transactions only); whatever needs a session (the relay's
    advisory lock, LISTEN) opens a dedicated connection.
    """


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    """A connection pool on ``dsn``. Pooled connections must not carry session state (see
    :func:`_release`): no session advisory locks, LISTEN or SET outside a transaction."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, command_timeout=60, reset=_release,
        connection_class=ScopedConnection,  # every transaction declares its agency (row-level security)
    )
    assert pool is not None
    return pool


async def ensure_database(server_dsn: str, name: str) -> None:
    """Create database ``name`` on the server if it does not exist."""
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


def migrate(dsn: str, migrations_dir: Path) -> None:
    """Run the Alembic migrations in ``migrations_dir`` up to head against ``dsn`` (blocking)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    command.upgrade(cfg, "head")


MIGRATION_LOCK = 0x57A7_0001  # advisory lock key: one migrator per database at a time


async def migrate_async(dsn: str, migrations_dir: Path) -> None:
    """:func:`migrate` off the event loop (Alembic's async env runs its own loop).

    Replicas or workers starting together would race to create the same tables; an advisory lock
    lets the first one migrate and the others find the schema at head.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await asyncio.to_thread(migrate, dsn, migrations_dir)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


#: SQLSTATE classes that say "the database is in trouble now", not "this statement is wrong":
#: 08 connection exception, 40 transaction rollback (serialization, deadlock), 53 insufficient
#: resources (disk full, out of memory, too many connections), 57 operator intervention (query
#: cancelled, admin/crash shutdown, cannot connect now), 58 system error (I/O error).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: Single transient states outside those classes: lock not available (NOWAIT, lock_timeout),
#: object in use.
TRANSIENT_SQLSTATES = frozenset({"55P03", "55006"})


def is_transient_database_error(exc: BaseException) -> bool:
    """True if ``exc`` is PostgreSQL being unavailable or busy: worth retrying later, never a
    reason to dead-letter an event or give up on a row."""
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.PostgresConnectionError | ConnectionError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(exc, asyncpg.PostgresError) and isinstance(sqlstate, str):
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    return False
