"""Tenancy in the database: row-level security holds even when a query forgets its agency filter."""

import uuid

import asyncpg
import pytest

from shared import tenancy
from shared.settings import DEV_DB_APP_PASSWORD
from shared.testing.auth import bearer

pytestmark = pytest.mark.integration

SERVICES = ["sec_intake", "sec_planning", "sec_monitoring", "sec_notifications"]


def _as_app_role(dsn: str) -> str:
    return tenancy.with_credentials(dsn, "waypoint_app", DEV_DB_APP_PASSWORD)


async def _agency_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT c.table_name FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.column_name LIKE '%agency_id'"
        " ORDER BY 1")
    return [r["table_name"] for r in rows]


@pytest.mark.parametrize("service", SERVICES)
async def test_every_table_with_agency_data_has_forced_row_level_security(security_services, service):
    svc = security_services[service]
    conn = await asyncpg.connect(svc.dsn)
    try:
        tables = await _agency_tables(conn)
        assert "events" in tables and "access_log" in tables
        rows = await conn.fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1::text[])"
            " AND relkind = 'r'", tables)
        assert {r["relname"]: (r["relrowsecurity"], r["relforcerowsecurity"]) for r in rows} == {
            t: (True, True) for t in tables}
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_connects_as_a_role_that_owns_nothing_and_cannot_bypass(security_services, service):
    svc = security_services[service]
    who = await svc.runtime.pool.fetchrow(
        "SELECT current_user AS name, r.rolsuper, r.rolbypassrls,"
        " (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned"
        " FROM pg_roles r WHERE r.rolname = current_user")
    assert (who["name"], who["rolsuper"], who["rolbypassrls"], who["owned"]) == ("waypoint_app", False, False, 0)


async def test_raw_sql_as_the_service_role_with_another_agency_set_sees_nothing(sec_intake):
    mine, other = f"agency-{uuid.uuid4().hex[:8]}", f"agency-{uuid.uuid4().hex[:8]}"
    created = await sec_intake.client.post("/v1/participants", json={"display_name": "Robin",
                                                                     "specialist_id": "specialist-1"},
                                           headers=bearer(agency_id=mine))  # on the caller's own caseload
    assert created.status_code == 201, created.text
    pid = uuid.UUID(created.json()["participant_id"])
    assert (await sec_intake.client.get(f"/v1/participants/{pid}", headers=bearer(agency_id=mine))).status_code == 200

    conn = await asyncpg.connect(_as_app_role(sec_intake.dsn))
    try:
        tables = await _agency_tables(conn)

        async def visible(agency: str | None) -> dict[str, int]:
            async with conn.transaction():
                if agency is not None:
                    await conn.execute("SELECT set_config('waypoint.agency_id', $1, true)", agency)
                return {t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE participant_id = $1", pid)
                        for t in ("participants", "events", "access_log")} | {
                    t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}

        theirs = await visible(other)
        assert set(theirs.values()) == {0}, theirs
        assert set((await visible(None)).values()) == {0}  # nothing declared: nothing seen
        own = await visible(mine)
        assert own["participants"] == 1 and own["events"] >= 1 and own["access_log"] >= 1
        # and it cannot write into another agency either
        async with conn.transaction():
            await conn.execute("SELECT set_config('waypoint.agency_id', $1, true)", other)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("INSERT INTO access_log (participant_id, agency_id, actor, action)"
                                   " VALUES ($1, $2, 'x', 'forged')", pid, mine)
        # the setting was local to those transactions: the connection carries nothing
        assert (await visible(None))["participants"] == 0
    finally:
        await conn.close()


async def test_a_query_missing_its_agency_filter_returns_only_the_callers_rows(sec_intake):
    agencies = [f"agency-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for agency in agencies:
        r = await sec_intake.client.post("/v1/participants", json={"display_name": "P"},
                                         headers=bearer(agency_id=agency))
        assert r.status_code == 201
    pool = sec_intake.runtime.pool
    for agency in agencies:
        with tenancy.agency_scope(agency):  # what authentication does for a request
            unfiltered = await pool.fetch("SELECT DISTINCT agency_id FROM participants")  # no WHERE agency_id
            async with pool.acquire() as conn, conn.transaction():
                in_transaction = await conn.fetch("SELECT DISTINCT agency_id FROM events")
        assert [r["agency_id"] for r in unfiltered] == [agency]
        assert [r["agency_id"] for r in in_transaction] == [agency]
    with tenancy.denied_scope():
        assert await pool.fetchval("SELECT count(*) FROM participants") == 0
    with tenancy.system_scope():  # the relay's and consumers' scope: every agency
        assert await pool.fetchval("SELECT count(DISTINCT agency_id) FROM participants") >= 2


@pytest.mark.parametrize("agency", ["agency-plain.1", "o'brien; DROP TABLE notes; --", "agency\\with\\backslash"])
async def test_the_scope_travels_with_the_begin_or_as_a_parameter_and_holds_either_way(fresh_database, agency):
    """A plain agency id is written into the BEGIN's round trip; any other goes as a parameter.
    Both see their own rows only; nothing in an id is ever run as SQL."""
    from shared.db import create_pool

    dsn = fresh_database("t_scope")
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute("CREATE TABLE notes (agency_id TEXT NOT NULL, body TEXT NOT NULL)")
        for statement in tenancy.agency_policy_ddl("notes"):
            await owner.execute(statement)
        async with owner.transaction():
            await owner.execute("SELECT set_config('waypoint.system', 'on', true)")
            await owner.executemany("INSERT INTO notes VALUES ($1, $2)", [(agency, "mine"), ("agency-other", "theirs")])
    finally:
        await owner.close()
    await tenancy.ensure_app_role(dsn, "waypoint_app", DEV_DB_APP_PASSWORD, create=True)
    pool = await create_pool(_as_app_role(dsn), min_size=1, max_size=1)
    try:
        literal = tenancy.scope_literal_statement(agency)
        assert (literal is not None) == (agency == "agency-plain.1")
        with tenancy.agency_scope(agency):
            async with pool.acquire() as conn, conn.transaction():
                assert [r["body"] for r in await conn.fetch("SELECT body FROM notes")] == ["mine"]
                assert await conn.fetchval("SELECT current_setting('waypoint.agency_id', true)") == agency
            assert [r["body"] for r in await pool.fetch("SELECT body FROM notes")] == ["mine"]  # implicit transaction
        with tenancy.system_scope():
            assert await pool.fetchval("SELECT count(*) FROM notes") == 2  # the table is still there
        async with pool.acquire() as conn:  # a pooled connection keeps nothing from the last transaction
            seen = await asyncpg.Connection.fetchval(conn, "SELECT current_setting('waypoint.agency_id', true)")
            assert seen in (None, "")  # read outside any transaction, bypassing the scoping wrapper
    finally:
        await pool.close()


async def test_services_starting_together_each_find_or_create_the_role(database_url):
    """Four services start at once on a fresh server (make up, the console's test stack): each
    creates the app role if missing. The losers of that race must carry on, not stop at start
    (CREATE ROLE's race is reported as a unique violation on pg_authid, not only as 'exists')."""
    import asyncio

    from shared.db import ensure_database
    from shared.settings import database_for

    role = f"app_race_{uuid.uuid4().hex[:8]}"
    dsns = []
    for i in range(4):  # one database per service, as in production
        name = f"t_role_race_{uuid.uuid4().hex[:8]}_{i}"
        await ensure_database(database_url, name)
        dsns.append(database_for(database_url, name))
    for _ in range(3):  # the race does not happen every time: give it several chances
        await asyncio.gather(*(tenancy.ensure_app_role(dsn, role, None, create=True) for dsn in dsns))
        conn = await asyncpg.connect(dsns[0])
        try:
            assert await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role) == 1
            await conn.execute(f'DROP OWNED BY "{role}"')
            for dsn in dsns[1:]:
                other = await asyncpg.connect(dsn)
                try:
                    await other.execute(f'DROP OWNED BY "{role}"')
                finally:
                    await other.close()
            await conn.execute(f'DROP ROLE "{role}"')
        finally:
            await conn.close()
