"""Chaos on the three-broker cluster for SOAK_SECONDS (default 300): commands flow steadily while a
broker is SIGKILLed every CHAOS_PERIOD_S and restarted CHAOS_DOWN_S later, round robin; at the end
every enrolment is monitored exactly once. Run with `make soak`."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from deploy.kafka_native import NativeKafkaCluster
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import running_service
from tests.conftest import TEST_STATE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.infra_outage]

BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
CHAOS_PERIOD_S = float(os.environ.get("CHAOS_PERIOD_S", "30"))
CHAOS_DOWN_S = float(os.environ.get("CHAOS_DOWN_S", "10"))


@pytest.fixture(scope="module")
def cluster():
    ports = [(BASE + 50, BASE + 51), (BASE + 53, BASE + 54), (BASE + 55, BASE + 56)]
    nodes = NativeKafkaCluster(TEST_STATE_DIR / "kafka-cluster-soak", ports)
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


async def _chaos(cluster: NativeKafkaCluster, until: float) -> int:
    kills = 0
    while time.monotonic() + CHAOS_PERIOD_S < until:
        await asyncio.sleep(CHAOS_PERIOD_S - CHAOS_DOWN_S)
        node = kills % 3
        await asyncio.to_thread(cluster.kill_node, node)
        await asyncio.sleep(CHAOS_DOWN_S)
        await asyncio.to_thread(cluster.start_node, node)
        kills += 1
    return kills


async def test_commands_flow_through_rolling_broker_kills(cluster, database_url):
    bootstrap = cluster.bootstrap
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    replicated = {"kafka_replication_factor": 3, "kafka_min_insync_replicas": 2, "relay_poll_interval_s": 0.1}
    async with (
        running_service("intake", kafka_bootstrap=bootstrap, database_url=database_url, **replicated) as intake,
        running_service("monitoring", kafka_bootstrap=bootstrap, database_url=database_url, **replicated) as mon,
    ):
        until = time.monotonic() + SOAK_SECONDS
        chaos = asyncio.create_task(_chaos(cluster, until))
        enrolled: list[str] = []
        while time.monotonic() < until:
            response = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                                json={"display_name": "P", "specialist_id": "s-1"})
            assert response.status_code == 201, response.text
            enrolled.append(response.json()["participant_id"])
            await asyncio.sleep(0.05)
        kills = await chaos
        assert kills >= 1

        async def all_monitored():
            rows = await mon.runtime.pool.fetch(
                "SELECT participant_id::text AS pid FROM monitored_participants WHERE agency_id = $1", agency)
            return rows if len(rows) >= len(enrolled) else None

        rows = await eventually(all_monitored, timeout=120, interval=1, message="every enrolment monitored")
        assert sorted(r["pid"] for r in rows) == sorted(enrolled)
        started = await mon.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'MonitoringStarted' AND agency_id = $1", agency)
        assert started == len(enrolled)
        print(f"soak: {SOAK_SECONDS:.0f} s, {kills} broker SIGKILLs, {len(enrolled)} enrolments, each monitored once")
