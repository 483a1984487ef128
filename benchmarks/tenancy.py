"""The cost of tenancy in the database: a transaction with the agency set (row-level security)
against the same transaction without it, in the same run on the same server.

Three ways to run one transaction, as the services' role (``waypoint_app``), interleaved and
repeated so that machine noise hits all of them alike:

- ``scoped``: the services' path. A pooled :class:`shared.tenancy.ScopedConnection` declares the
  agency when the transaction starts (``set_config`` x2, sent with the ``BEGIN`` in one round
  trip), on ``access_log``, which has FORCE ROW LEVEL SECURITY and the agency policy.
- ``scoped_two_trips``: the same, with the declaration in a round trip of its own (how it was
  done before; ``ScopedConnection.scope_with_begin = False``).
- ``declared_only``: the services' connection class and declaration, on ``access_log_plain`` (the
  same table, ``LIKE access_log INCLUDING ALL``, without row-level security): the policy's cost
  is ``scoped`` against this.
- ``unscoped``: a plain asyncpg pool on ``access_log_plain``: no declaration, no policy.

Workloads: a read (a supervisor's page of one participant's access log: 20 rows by index) and a
write (one access-log row), each its own transaction (BEGIN .. COMMIT), at concurrency 1 and 16.

``python -m benchmarks tenancy`` (starts PostgreSQL unless ``DATABASE_URL`` is set) or
``python -m benchmarks.tenancy --database-url postgresql://...``.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from shared import tenancy
from shared.db import _release, create_pool, ensure_database, migrate_async
from shared.settings import DEV_DB_APP_PASSWORD, database_for

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "monitoring" / "migrations"
AGENCIES, PARTICIPANTS, ROWS = 10, 200, 10  # 20,000 rows in each table

READ = ("SELECT at, actor, action FROM {table} WHERE participant_id = $1 AND agency_id = $2"
        " ORDER BY id DESC LIMIT 20")
WRITE = "INSERT INTO {table} (participant_id, agency_id, actor, action) VALUES ($1, $2, 'bench', 'read record')"


class _TwoTrips(tenancy.ScopedConnection):
    scope_with_begin = False


async def _prepare(server_url: str) -> tuple[str, list[tuple[str, uuid.UUID]]]:
    """A fresh monitoring database (its access_log has row-level security), the plain twin
    table, the same rows in both, and the services' role; returns (the role's DSN, the keys)."""
    name = f"bench_tenancy_{uuid.uuid4().hex[:8]}"
    await ensure_database(server_url, name)
    dsn = database_for(server_url, name)
    await migrate_async(dsn, MIGRATIONS)
    owner = await asyncpg.connect(dsn)
    keys = [(f"agency-{a}", uuid.uuid4()) for a in range(AGENCIES) for _ in range(PARTICIPANTS)]
    try:
        await owner.execute("CREATE TABLE access_log_plain (LIKE access_log INCLUDING ALL)")
        rows = [(pid, agency, "spec-1", "read record") for agency, pid in keys for _ in range(ROWS)]
        async with owner.transaction():
            await owner.execute("SELECT set_config('waypoint.system', 'on', true)")
            for table in ("access_log", "access_log_plain"):
                await owner.copy_records_to_table(table, records=rows,
                                                  columns=["participant_id", "agency_id", "actor", "action"])
        await owner.execute("ANALYZE access_log; ANALYZE access_log_plain")
    finally:
        await owner.close()
    await tenancy.ensure_app_role(dsn, "waypoint_app", DEV_DB_APP_PASSWORD, create=True)
    return tenancy.with_credentials(dsn, "waypoint_app", DEV_DB_APP_PASSWORD), keys


def _op(pool: asyncpg.Pool, table: str, kind: str, keys: list[tuple[str, uuid.UUID]],
        scoped: bool) -> Callable[[], Awaitable[None]]:
    sql = (READ if kind == "read" else WRITE).format(table=table)

    async def op() -> None:
        agency, pid = random.choice(keys)
        if scoped:
            tenancy.set_agency(agency)  # what authentication does for a request
        async with pool.acquire() as conn, conn.transaction():
            if kind == "read":
                await conn.fetch(sql, pid, agency)
            else:
                await conn.execute(sql, pid, agency)

    return op


async def _drive(concurrency: int, total: int, op: Callable[[], Awaitable[None]]) -> float:
    """Transactions per second for ``total`` calls of ``op`` over ``concurrency`` tasks."""
    per_task = total // concurrency

    async def task() -> None:
        for _ in range(per_task):
            await op()

    started = time.perf_counter()
    await asyncio.gather(*(asyncio.create_task(task()) for _ in range(concurrency)))
    return per_task * concurrency / (time.perf_counter() - started)


async def run(server_url: str, *, rounds: int = 5, per_round: int = 3000) -> dict:
    app_dsn, keys = await _prepare(server_url)
    scoped_pool = await create_pool(app_dsn, min_size=16, max_size=16)
    plain_pool = await asyncpg.create_pool(app_dsn, min_size=16, max_size=16, command_timeout=60, reset=_release)
    two_trips_pool = await asyncpg.create_pool(app_dsn, min_size=16, max_size=16, command_timeout=60,
                                               reset=_release, connection_class=_TwoTrips)
    assert plain_pool is not None and two_trips_pool is not None
    variants = {
        "scoped": (scoped_pool, "access_log", True),
        "scoped_two_trips": (two_trips_pool, "access_log", True),
        "declared_only": (scoped_pool, "access_log_plain", True),
        "unscoped": (plain_pool, "access_log_plain", False),
    }
    report: dict = {"rows_per_table": len(keys) * ROWS, "rounds": rounds, "transactions_per_round": per_round}
    try:
        for kind in ("read", "write"):
            for concurrency in (1, 16):
                runs: dict[str, list[float]] = {name: [] for name in variants}
                for pool, table, scoped in variants.values():  # warm-up: plans and caches
                    await _drive(concurrency, 200, _op(pool, table, kind, keys, scoped))
                for _ in range(rounds):
                    for name, (pool, table, scoped) in random.sample(list(variants.items()), len(variants)):
                        runs[name].append(await _drive(concurrency, per_round, _op(pool, table, kind, keys, scoped)))
                medians = {name: round(statistics.median(v)) for name, v in runs.items()}
                report[f"{kind}_c{concurrency}"] = {
                    "tx_per_s": medians,
                    "scoped_vs_unscoped": round(medians["scoped"] / medians["unscoped"], 3),
                    "scoped_two_trips_vs_unscoped": round(medians["scoped_two_trips"] / medians["unscoped"], 3),
                    "declared_only_vs_unscoped": round(medians["declared_only"] / medians["unscoped"], 3),
                    "scoped_vs_declared_only": round(medians["scoped"] / medians["declared_only"], 3),
                }
                print(json.dumps({f"{kind}_c{concurrency}": report[f"{kind}_c{concurrency}"]}), flush=True)
    finally:
        await scoped_pool.close()
        await plain_pool.close()
        await two_trips_pool.close()
    return report


if __name__ == "__main__":
    import typer

    def main(database_url: str = typer.Option(..., help="PostgreSQL server URL (an owner who may create roles)"),
             rounds: int = 5, per_round: int = 3000) -> None:
        print(json.dumps(asyncio.run(run(database_url, rounds=rounds, per_round=per_round)), indent=2))

    typer.run(main)
