"""Tenancy in the database: PostgreSQL row-level security, the agency set per transaction.

Every table holding participant or agency data has a policy letting a transaction see and write
only the rows of the agency it declared (``waypoint.agency_id``), or every row when it declared
the system scope (``waypoint.system = on``). A transaction that declared nothing sees nothing.

* HTTP requests: the middleware starts every request in the *denied* scope; authentication
  replaces it with the caller's agency. So a query that forgets its ``agency_id`` filter still
  returns only the caller's rows, and nothing runs unscoped before the caller is known.
* Work that legitimately spans agencies (the outbox relay, the consumers of other services'
  events, schedulers, the dispatcher) runs in the *system* scope, explicitly: the kernel starts
  these tasks inside :func:`system_scope`. Code outside both (scripts, tests inspecting the
  database) must enter one too.
* The scope is applied with ``set_config(..., true)``: local to the transaction, never to the
  connection, so a pooled connection carries nothing from one use to the next. Pooled
  connections (:class:`ScopedConnection`) apply it when a transaction starts, in the same round
  trip as the ``BEGIN``, and wrap a statement run outside any transaction in one of its own.

The services connect as a role that owns nothing and has no BYPASSRLS (:func:`ensure_app_role`);
the migrations run as the owner, and ``FORCE ROW LEVEL SECURITY`` holds the owner to the policies
too (only a superuser or a BYPASSRLS role is above them).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from asyncpg import transaction as _tx

#: the scope of the current task: an agency id, SYSTEM, or DENIED
SYSTEM = "\x00system"
DENIED = "\x00denied"
_scope: contextvars.ContextVar[str] = contextvars.ContextVar("waypoint_db_scope", default=DENIED)


def current_scope() -> str:
    return _scope.get()


def enter_denied() -> contextvars.Token[str]:
    return _scope.set(DENIED)


def enter_system() -> contextvars.Token[str]:
    return _scope.set(SYSTEM)


def leave(token: contextvars.Token[str]) -> None:
    _scope.reset(token)


def set_agency(agency_id: str) -> None:
    """The current task now works for ``agency_id`` (called by authentication)."""
    _scope.set(agency_id)


@contextlib.contextmanager
def agency_scope(agency_id: str) -> Iterator[None]:
    token = _scope.set(agency_id)
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def system_scope() -> Iterator[None]:
    """Every agency's rows: for the kernel's background work, and tools that inspect the database."""
    token = _scope.set(SYSTEM)
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def denied_scope() -> Iterator[None]:
    token = _scope.set(DENIED)
    try:
        yield
    finally:
        _scope.reset(token)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: declares the scope for the current transaction only (``is_local``); parameters: agency, system
SCOPE_STATEMENT = "SELECT set_config('waypoint.agency_id', $1, true), set_config('waypoint.system', $2, true)"


def scope_arguments(scope: str) -> tuple[str, str]:
    if scope == SYSTEM:
        return "", "on"
    return ("" if scope == DENIED else scope), "off"


#: agency ids written into the BEGIN's round trip as literals; anything else is sent as a parameter
_PLAIN_AGENCY = re.compile(r"^[A-Za-z0-9._:@-]{0,200}$")


def scope_literal_statement(scope: str) -> str | None:
    """:data:`SCOPE_STATEMENT` with the scope written in as literals (None if the agency id is not
    plain enough to be written into SQL: then it goes as a parameter, in a round trip of its own)."""
    agency, system = scope_arguments(scope)
    if not _PLAIN_AGENCY.match(agency):
        return None
    return (f"SELECT set_config('waypoint.agency_id', {_literal(agency)}, true),"
            f" set_config('waypoint.system', {_literal(system)}, true);")


class ScopedTransaction(_tx.Transaction):  # type: ignore[misc]
    """An asyncpg transaction that declares the task's scope as soon as it starts: in the BEGIN's
    own round trip (one simple-query message, ``BEGIN; SELECT set_config(...)``), or right after
    it when the agency id must travel as a parameter."""

    async def start(self) -> None:
        connection = self._connection
        connection._starting = True  # its BEGIN goes straight to the server (with the scope)
        connection._scope_sent = False
        try:
            await super().start()
        finally:
            connection._starting = False
        if not self._nested and not connection._scope_sent:
            await connection._declare_scope()


class ScopedConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection whose every transaction carries the current task's scope."""

    #: declare the scope in the BEGIN's round trip (False: a round trip of its own; for the benchmark)
    scope_with_begin = True
    _scope_sent = False

    async def _declare_scope(self) -> None:
        await asyncpg.Connection.execute(self, SCOPE_STATEMENT, *scope_arguments(_scope.get()))

    def transaction(self, *, isolation: str | None = None, readonly: bool = False,
                    deferrable: bool = False) -> ScopedTransaction:
        self._check_open()
        return ScopedTransaction(self, isolation, readonly, deferrable)

    _starting = False

    async def _in_scope(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        if self._starting or self.is_in_transaction():
            return await method(self, *args, **kwargs)
        async with self.transaction():
            return await method(self, *args, **kwargs)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        if self._starting and not args and self.scope_with_begin and query.startswith("BEGIN"):
            declare = scope_literal_statement(_scope.get())
            if declare is not None:
                self._scope_sent = True
                return await asyncpg.Connection.execute(self, f"{query} {declare}", timeout=timeout)  # type: ignore[no-any-return]
        return await self._in_scope(asyncpg.Connection.execute, query, *args, timeout=timeout)  # type: ignore[no-any-return]

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        await self._in_scope(asyncpg.Connection.executemany, command, args, timeout=timeout)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        return await self._in_scope(asyncpg.Connection.fetch, query, *args, timeout=timeout,
                                    record_class=record_class)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        return await self._in_scope(asyncpg.Connection.fetchrow, query, *args, timeout=timeout,
                                    record_class=record_class)

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        return await self._in_scope(asyncpg.Connection.fetchval, query, *args, column=column, timeout=timeout)

    async def fetchmany(self, query: str, args: Any, *, timeout: float | None = None,
                        record_class: Any = None) -> Any:
        return await self._in_scope(asyncpg.Connection.fetchmany, query, args, timeout=timeout,
                                    record_class=record_class)

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> str:
        return await self._in_scope(asyncpg.Connection.copy_records_to_table, table_name, **kwargs)  # type: ignore[no-any-return]


# --- DDL (for the services' migrations) ---------------------------------------------------------

AGENCY_SETTING = "NULLIF(current_setting('waypoint.agency_id', true), '')"
SYSTEM_SETTING = "current_setting('waypoint.system', true) = 'on'"


def agency_policy_ddl(table: str, columns: tuple[str, ...] = ("agency_id",)) -> list[str]:
    """Row-level security on ``table``: the rows one of whose ``columns`` is the declared agency
    (e.g. a referral's disclosing and recipient agencies), or all rows in the system scope.
    FORCE: the owner is held to it too."""
    mine = " OR ".join(f"{c} = {AGENCY_SETTING}" for c in columns)
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS agency_isolation ON {table}",
        f"CREATE POLICY agency_isolation ON {table} USING ({SYSTEM_SETTING} OR {mine})"
        f" WITH CHECK ({SYSTEM_SETTING} OR {mine})",
    ]


def drop_agency_policy_ddl(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS agency_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def enable_agency_rls(tables: dict[str, tuple[str, ...]]) -> None:
    """In an Alembic migration: row-level security on each table (value: its agency columns; empty
    means ``agency_id``)."""
    from alembic import op

    for table, columns in tables.items():
        for statement in agency_policy_ddl(table, columns or ("agency_id",)):
            op.execute(statement)


def disable_agency_rls(tables: dict[str, tuple[str, ...]]) -> None:
    from alembic import op

    for table in tables:
        for statement in drop_agency_policy_ddl(table):
            op.execute(statement)


# --- the service's database role ----------------------------------------------------------------

def with_credentials(dsn: str, user: str, password: str | None) -> str:
    """``dsn`` logging in as ``user``."""
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def ensure_app_role(owner_dsn: str, role: str, password: str | None, *, create: bool) -> None:
    """Grant ``role`` what a service needs on the database's tables, after the migrations (as the
    owner). With ``create`` (development), also create the role if missing: LOGIN, nothing else
    (no superuser, no BYPASSRLS, owns nothing). In production a DBA creates it."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        if create:
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                # another service starting at the same time created it first: reported either way
                with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                    await conn.execute(
                        f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE'
                        + (f" PASSWORD {_literal(password)}" if password else "")
                    )
        bypass = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role)
        if bypass is None:
            raise RuntimeError(f"database role {role!r} does not exist: create it (LOGIN, no BYPASSRLS)")
        if bypass["rolsuper"] or bypass["rolbypassrls"]:
            raise RuntimeError(f"database role {role!r} bypasses row-level security: it must not")
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
        await conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        await conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        await conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        await conn.execute(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "{role}"')
    finally:
        await conn.close()
