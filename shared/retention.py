"""Retention of the append-only records: the access log and the disclosure ledger are kept at least
six years (HIPAA, 42 CFR Part 2), then purged by one scheduled job, the only thing allowed past
their append-only guards.

How the guard tells the purge from everything else (all in the service's database):

- ``waypoint_retention_purge(keep_years, batch)`` is a ``SECURITY DEFINER`` function owned by the
  owner of the tables. It refuses ``keep_years`` below :data:`FLOOR_YEARS` (six, written into the
  function, so no setting, role or caller can shorten it), and deletes at most ``batch`` of each
  table's rows older than ``now() - keep_years``, oldest first. It runs with
  ``waypoint.retention_purge = on`` and ``waypoint.system = on`` set by its own ``SET`` clauses:
  PostgreSQL applies them for the call only and restores the caller's values on return, so the
  caller's transaction keeps its scope.
- The guard trigger on each table still refuses UPDATE and TRUNCATE always, and refuses DELETE
  unless ``waypoint.retention_purge`` is on, the statement runs as the table's owner *and* it was
  issued from inside the purge function (PL/pgSQL's call stack, ``PG_CONTEXT``). The services'
  role (``waypoint_app``) owns nothing: it may call the function (which enforces the floor), but
  a DELETE it issues itself is refused, and so is the owner's own, with or without the setting.
  (The owner can still drop the trigger: that is a schema change, made by a migration, reviewed.)

Each service runs :class:`RetentionPurge` as a kernel :class:`~shared.polling.PollingWorker`
(started by the runtime, in the system scope): every ``RETENTION_PURGE_INTERVAL_S`` it calls the
function, again at once while a table still had a full batch to delete. Metrics:
``waypoint_retention_purged_rows_total{service,table}``,
``waypoint_retention_last_purge_timestamp_seconds{service}`` (last successful run), and the
polling worker's ``waypoint_poll_failures_total{loop="<service>-retention-purge"}``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from shared.polling import PollingWorker

log = structlog.get_logger(__name__)

#: the legal minimum: nothing younger than this is ever deleted, whatever the configuration
FLOOR_YEARS = 6
#: the transaction-local setting the purge function sets for its own call
PURGE_SETTING = "waypoint.retention_purge"

PURGED = Counter("waypoint_retention_purged_rows_total", "Rows of append-only records removed by the retention purge",
                 ["service", "table"])
LAST_PURGE = Gauge("waypoint_retention_last_purge_timestamp_seconds",
                   "When the retention purge last completed a run (Unix time)", ["service"])

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _identifier(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def guard_function_ddl(function: str) -> str:
    """The append-only guard ``function()`` (a statement trigger's function), letting the purge's
    DELETE through and nothing else."""
    return f"""
    CREATE OR REPLACE FUNCTION {_identifier(function)}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        caller text;
    BEGIN
        -- the retention purge, and only it: a DELETE issued from inside its SECURITY DEFINER
        -- function, which runs as the owner with {PURGE_SETTING} set for the call (the services'
        -- role owns nothing; a DELETE typed by anyone, even with the setting, is refused)
        IF TG_OP = 'DELETE' AND current_setting('{PURGE_SETTING}', true) = 'on'
           AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
            GET DIAGNOSTICS caller = PG_CONTEXT;
            IF caller LIKE '%function waypoint_retention_purge(integer,integer)%' THEN
                RETURN NULL;
            END IF;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$
    """


def purge_function_ddl(tables: Mapping[str, tuple[str, str]]) -> str:
    """``waypoint_retention_purge(keep_years, batch)`` over ``tables`` (table -> (key column, time
    column)): one result row per table with the rows it deleted."""
    steps = "\n".join(
        f"""
        DELETE FROM {_identifier(t)} WHERE {_identifier(k)} IN (
            SELECT {k} FROM {t} WHERE {_identifier(at)} < cutoff ORDER BY {at} LIMIT batch);
        GET DIAGNOSTICS n = ROW_COUNT;
        table_name := '{t}'; purged := n; RETURN NEXT;"""
        for t, (k, at) in tables.items()
    )
    return f"""
    CREATE OR REPLACE FUNCTION waypoint_retention_purge(keep_years integer, batch integer)
    RETURNS TABLE (table_name text, purged bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "waypoint.system" = 'on'
    SET "{PURGE_SETTING}" = 'on'
    AS $$
    DECLARE
        cutoff timestamptz;
        n bigint;
    BEGIN
        IF keep_years IS NULL OR keep_years < {FLOOR_YEARS} THEN
            RAISE EXCEPTION 'retention of % years refused: records are kept at least {FLOOR_YEARS} years',
                keep_years;
        END IF;
        IF batch IS NULL OR batch < 1 OR batch > 100000 THEN
            RAISE EXCEPTION 'retention purge batch % out of range (1 to 100000)', batch;
        END IF;
        cutoff := now() - make_interval(years => keep_years);
        {steps}
    END
    $$
    """


def install(tables: Mapping[str, tuple[str, str]], guard_function: str) -> None:
    """In an Alembic migration (as the owner): the purge function over ``tables``, the guard
    ``guard_function`` that lets it (and only it) delete, and an index on each time column."""
    from alembic import op

    op.execute(guard_function_ddl(guard_function))
    op.execute(purge_function_ddl(tables))
    for table, (_, at) in tables.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {table}_retention_idx ON {table} ({at})")


def uninstall(tables: Mapping[str, tuple[str, str]], guard_function: str) -> None:
    """Undo :func:`install`: the guard refuses every DELETE again."""
    from alembic import op

    op.execute("DROP FUNCTION IF EXISTS waypoint_retention_purge(integer, integer)")
    for table in tables:
        op.execute(f"DROP INDEX IF EXISTS {table}_retention_idx")
    op.execute(f"""
    CREATE OR REPLACE FUNCTION {_identifier(guard_function)}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$
    """)


async def purge_once(db: asyncpg.Pool | asyncpg.Connection, *, keep_years: int, batch: int) -> dict[str, int]:
    """One call of the purge function: rows deleted per table (at most ``batch`` each)."""
    rows = await db.fetch("SELECT table_name, purged FROM waypoint_retention_purge($1, $2)", keep_years, batch)
    return {r["table_name"]: int(r["purged"]) for r in rows}


class RetentionPurge:
    """The service's retention purge as a polling step: one function call per step; a step that
    filled a batch on some table reports a full batch, so the worker runs again at once."""

    def __init__(self, pool: asyncpg.Pool, service: str, *, keep_years: int, batch: int, interval: float) -> None:
        if keep_years < FLOOR_YEARS:
            raise ValueError(f"retention of {keep_years} years: records are kept at least {FLOOR_YEARS} years")
        self.pool = pool
        self.service = service
        self.keep_years = keep_years
        self.batch = batch
        self.worker = PollingWorker(f"{service}-retention-purge", self.step, interval=interval, full_batch=batch)

    async def step(self) -> int:
        purged = await purge_once(self.pool, keep_years=self.keep_years, batch=self.batch)
        for table, n in purged.items():
            if n:
                PURGED.labels(self.service, table).inc(n)
                log.info("retention purge", service=self.service, table=table, rows=n, keep_years=self.keep_years)
        LAST_PURGE.labels(self.service).set(time.time())
        return max(purged.values(), default=0)

    async def run(self) -> None:
        await self.worker.run()
