"""A three-broker KRaft cluster, natively from the same jars: topics replicated 3 times with
min.insync.replicas=2; one broker SIGKILLed while commands flow loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from deploy.kafka_native import NativeKafkaCluster
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import running_service
from tests.conftest import TEST_STATE_DIR

pytestmark = [pytest.mark.integration, pytest.mark.infra_outage]

BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
COMMANDS = 90
KILL_AFTER = 30


@pytest.fixture(scope="module")
def cluster():
    """Three nodes on this suite's HTTP range + 50..56 (client and controller ports)."""
    ports = [(BASE + 50, BASE + 51), (BASE + 53, BASE + 54), (BASE + 55, BASE + 56)]
    nodes = NativeKafkaCluster(TEST_STATE_DIR / "kafka-cluster", ports)
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


async def _topic(bootstrap: str, name: str) -> tuple[int, str | None, bool]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        configs = {c[0]: c[1] for c in described.resources[0][4]}
        metadata = await admin.describe_topics([name])
        replicas = {len(p["replicas"]) for p in metadata[0]["partitions"]}
        auto_create = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
        broker = {c[0]: c[1] for c in auto_create[0].resources[0][4]}
    finally:
        await admin.close()
    return max(replicas), configs.get("min.insync.replicas"), broker.get("auto.create.topics.enable") == "true"


async def test_one_broker_killed_while_commands_flow_loses_and_duplicates_nothing(cluster, database_url):
    bootstrap = cluster.bootstrap
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    replicated = {"kafka_replication_factor": 3, "kafka_min_insync_replicas": 2, "relay_poll_interval_s": 0.1}
    async with (
        running_service("intake", kafka_bootstrap=bootstrap, database_url=database_url, **replicated) as intake,
        running_service("monitoring", kafka_bootstrap=bootstrap, database_url=database_url, **replicated) as mon,
    ):
        assert await _topic(bootstrap, "waypoint.intake.v1") == (3, "2", False)
        for consumer in mon.runtime.consumers:
            await asyncio.wait_for(consumer.started.wait(), 60)

        enrolled: list[str] = []
        for n in range(COMMANDS):
            if n == KILL_AFTER:
                await asyncio.to_thread(cluster.kill_node, 0)  # the first bootstrap broker, SIGKILL
            response = await intake.client.post(
                "/v1/participants", headers=bearer(agency_id=agency),
                json={"display_name": f"P{n}", "specialist_id": "s-1"})
            assert response.status_code == 201, response.text  # commands never wait for Kafka
            enrolled.append(response.json()["participant_id"])
            await asyncio.sleep(0.02)

        async def all_monitored():
            rows = await mon.runtime.pool.fetch(
                "SELECT participant_id::text AS pid FROM monitored_participants WHERE agency_id = $1", agency)
            return rows if len(rows) >= COMMANDS else None

        rows = await eventually(all_monitored, timeout=30, interval=0.25,
                                message=f"{COMMANDS} enrolments monitored after a broker was killed")
        assert sorted(r["pid"] for r in rows) == sorted(enrolled)  # each once, none lost
        started = await mon.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'MonitoringStarted' AND agency_id = $1", agency)
        assert started == COMMANDS  # the effect happened once per enrolment
        assert await intake.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 0
