"""PostgreSQL restarted under load (real PostgreSQL and Kafka): readiness drops while it is away
and comes back; clients retrying with an Idempotency-Key get every command applied exactly once;
the consumer's effects follow."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import pytest

from deploy.postgres_native import NativePostgres
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import running_service
from tests.conftest import TEST_STATE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.infra_outage]

COMMANDS = 40


@pytest.fixture
def postgres(infra):
    if infra.postgres_source != "native":
        raise RuntimeError("this test restarts the suite's native PostgreSQL; DATABASE_URL is given from outside")
    pg = NativePostgres(TEST_STATE_DIR / "postgres", port=int(os.environ.get("WAYPOINT_TEST_PG_PORT", "15432")))
    yield pg
    pg.start()  # whatever happened, the rest of the suite needs it


async def _post_until_accepted(client: httpx.AsyncClient, agency: str, n: int, unready: list[int]) -> str:
    """A client that retries a command (same Idempotency-Key) until it is accepted."""
    headers = {**bearer(agency_id=agency), "Idempotency-Key": f'"{agency}-{n}"'}
    while True:
        try:
            response = await client.post("/v1/participants", headers=headers,
                                         json={"display_name": f"P{n}", "specialist_id": "s-1"})
        except Exception:  # the app's error while the database is away
            response = None
        if response is not None and response.status_code == 201:
            return response.json()["participant_id"]
        assert response is None or response.status_code in (409, 500, 503), response.text
        ready = await client.get("/health/ready")
        if ready.status_code == 503:
            unready.append(n)
        await asyncio.sleep(0.2)


async def test_postgresql_restarted_under_load_loses_and_duplicates_nothing(infra, postgres):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    bootstrap, database_url = infra.kafka_bootstrap, infra.database_url
    async with (
        running_service("intake", kafka_bootstrap=bootstrap, database_url=database_url,
                        relay_poll_interval_s=0.1) as intake,
        running_service("monitoring", kafka_bootstrap=bootstrap, database_url=database_url,
                        relay_poll_interval_s=0.1) as monitoring,
    ):
        unready: list[int] = []
        enrolled = []
        for n in range(COMMANDS):
            if n == COMMANDS // 3:
                await asyncio.to_thread(postgres.stop)
                restart = asyncio.create_task(_restart_later(postgres))
            enrolled.append(await asyncio.wait_for(_post_until_accepted(intake.client, agency, n, unready), 60))
        await restart
        assert unready, "readiness never reported the database away"
        assert (await intake.client.get("/health/ready")).status_code == 200

        async def all_monitored():
            rows = await monitoring.runtime.pool.fetch(
                "SELECT participant_id::text AS pid FROM monitored_participants WHERE agency_id = $1", agency)
            return rows if len(rows) >= COMMANDS else None

        rows = await eventually(all_monitored, timeout=30, message="every enrolment monitored")
        assert sorted(r["pid"] for r in rows) == sorted(enrolled)
        assert await intake.runtime.pool.fetchval(
            "SELECT count(*) FROM participants WHERE agency_id = $1", agency) == COMMANDS  # each once


async def _restart_later(postgres: NativePostgres) -> None:
    await asyncio.sleep(3)
    await asyncio.to_thread(postgres.start)
