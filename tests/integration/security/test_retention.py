"""Retention on real PostgreSQL: the access log and the disclosure ledger are kept six years, then
the retention purge (and nothing else) removes them; younger rows stay, ordinary DELETEs are refused."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import REGISTRY

from shared import tenancy
from shared.db import migrate_async
from shared.retention import RetentionPurge, purge_once
from shared.settings import DEV_DB_APP_PASSWORD, ServiceSettings

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[3] / "services"
NOW = datetime.now(UTC)
#: label -> age; the purge keeps six years (by PostgreSQL's calendar: now() - interval '6 years')
OLD = {"seven years": timedelta(days=7 * 366), "six years and two days": timedelta(days=6 * 365 + 3)}
YOUNG = {"five years": timedelta(days=5 * 365), "a day": timedelta(days=1),
         "six years less two days": timedelta(days=6 * 365 - 1)}
LEDGERS = {"intake": {"access_log": "at", "disclosures": "disclosed_at"}, "planning": {"access_log": "at"},
           "monitoring": {"access_log": "at"}, "notifications": {"access_log": "at"}}


@pytest.fixture(params=sorted(LEDGERS))
async def migrated(request, fresh_database):
    """A service's database at head, its rows of every age, and the services' role."""
    service = request.param
    dsn = fresh_database(f"ret_{service}")
    await migrate_async(dsn, SERVICES / service / "migrations")
    await tenancy.ensure_app_role(dsn, "waypoint_app", DEV_DB_APP_PASSWORD, create=True)
    owner = await asyncpg.connect(dsn)
    ids: dict[str, dict[str, object]] = {}
    try:
        async with owner.transaction():
            await owner.execute("SET LOCAL session_replication_role = replica")  # no FK to a participant here
            for table, at in LEDGERS[service].items():
                ids[table] = {}
                for label, age in (OLD | YOUNG).items():
                    ids[table][label] = await _insert(owner, table, at, NOW - age)
    finally:
        await owner.close()
    yield service, dsn, ids


async def _insert(conn: asyncpg.Connection, table: str, at_column: str, at: datetime) -> object:
    if table == "access_log":
        return await conn.fetchval(
            "INSERT INTO access_log (participant_id, agency_id, actor, action, at)"
            " VALUES ($1, 'agency-r', 'spec-1', 'read record', $2) RETURNING id", uuid.uuid4(), at)
    return await conn.fetchval(
        "INSERT INTO disclosures (disclosure_id, participant_id, agency_id, disclosed_at, recipient_agency_id,"
        " purpose, information, consent_id, consent_version) VALUES ($1, $2, 'agency-r', $3, 'agency-mh',"
        " 'treatment', '[\"risk_level\"]'::jsonb, $4, 1) RETURNING disclosure_id",
        uuid.uuid4(), uuid.uuid4(), at, uuid.uuid4())


async def _left(dsn: str, service: str, ids: dict[str, dict[str, object]]) -> dict[str, set[str]]:
    """Per table, the labels of the rows still there."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('waypoint.system', 'on', true)")
            out = {}
            for table in LEDGERS[service]:
                key = "id" if table == "access_log" else "disclosure_id"
                present = {r[0] for r in await conn.fetch(f"SELECT {key} FROM {table}")}
                out[table] = {label for label, row in ids[table].items() if row in present}
            return out
    finally:
        await conn.close()


def _app(dsn: str) -> str:
    return tenancy.with_credentials(dsn, "waypoint_app", DEV_DB_APP_PASSWORD)


async def test_the_purge_removes_what_is_past_six_years_and_nothing_younger(migrated):
    service, dsn, ids = migrated
    pool = await asyncpg.create_pool(_app(dsn), min_size=1, max_size=2)
    try:
        purge = RetentionPurge(pool, service, keep_years=6, batch=1, interval=3600)
        before = {t: REGISTRY.get_sample_value("waypoint_retention_purged_rows_total",
                                               {"service": service, "table": t}) or 0 for t in LEDGERS[service]}
        # one row per table and step: a full batch, so the worker would run again at once
        assert await purge.step() == 1
        assert await purge.step() == 1
        assert await purge.step() == 0
        after = {t: REGISTRY.get_sample_value("waypoint_retention_purged_rows_total",
                                              {"service": service, "table": t}) for t in LEDGERS[service]}
        assert {t: after[t] - before[t] for t in after} == {t: 2 for t in LEDGERS[service]}
        assert REGISTRY.get_sample_value("waypoint_retention_last_purge_timestamp_seconds",
                                         {"service": service}) >= NOW.timestamp()
    finally:
        await pool.close()
    assert await _left(dsn, service, ids) == {t: set(YOUNG) for t in LEDGERS[service]}


async def test_an_ordinary_delete_is_still_refused_whoever_runs_it(migrated):
    service, dsn, ids = migrated
    statements = [f"DELETE FROM {t}" for t in LEDGERS[service]] + [f"UPDATE {t} SET agency_id = 'x'"
                                                                   for t in LEDGERS[service]]
    for who in (_app(dsn), dsn):  # the services' role, and the owner
        conn = await asyncpg.connect(who)
        try:
            for statement in statements:
                for purge_setting in (False, True):  # pretending to be the purge changes nothing
                    with pytest.raises(asyncpg.RaiseError, match="append-only"):
                        async with conn.transaction():
                            await conn.execute("SELECT set_config('waypoint.system', 'on', true)")
                            if purge_setting:
                                await conn.execute("SELECT set_config('waypoint.retention_purge', 'on', true)")
                            await conn.execute(statement)
        finally:
            await conn.close()
    app = await asyncpg.connect(_app(dsn))
    try:
        for table in LEDGERS[service]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(f"TRUNCATE {table}")
        # nobody can ask the purge for less than six years
        with pytest.raises(asyncpg.RaiseError, match="at least 6 years"):
            await purge_once(app, keep_years=5, batch=1000)
    finally:
        await app.close()
    assert await _left(dsn, service, ids) == {t: set(OLD) | set(YOUNG) for t in LEDGERS[service]}


async def test_the_purge_leaves_the_callers_scope_as_it_was(migrated):
    _, dsn, _ = migrated
    app = await asyncpg.connect(_app(dsn))
    try:
        async with app.transaction():
            await app.execute(tenancy.SCOPE_STATEMENT, *tenancy.scope_arguments("agency-other"))
            await purge_once(app, keep_years=6, batch=1000)
            assert await app.fetchval("SELECT current_setting('waypoint.system', true)") == "off"
            assert await app.fetchval("SELECT current_setting('waypoint.retention_purge', true)") in (None, "")
            assert await app.fetchval("SELECT count(*) FROM access_log") == 0  # still agency-other's view
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await app.execute("DELETE FROM access_log")
    finally:
        await app.close()


async def test_a_longer_retention_keeps_more(migrated):
    service, dsn, ids = migrated
    app = await asyncpg.connect(_app(dsn))
    try:
        purged = await purge_once(app, keep_years=8, batch=1000)
    finally:
        await app.close()
    assert purged == {t: 0 for t in LEDGERS[service]}
    assert await _left(dsn, service, ids) == {t: set(OLD) | set(YOUNG) for t in LEDGERS[service]}


def test_a_retention_below_six_years_stops_the_service_at_start():
    with pytest.raises(ValueError, match="retention_years"):
        ServiceSettings(retention_years=5)
    with pytest.raises(ValueError, match="at least 6 years"):
        RetentionPurge(None, "intake", keep_years=5, batch=1, interval=1)  # type: ignore[arg-type]
    assert ServiceSettings().retention_years == 6


async def test_a_running_service_runs_the_purge(sec_intake):
    assert "intake-retention-purge" in {t.get_name() for t in sec_intake.runtime.tasks}
