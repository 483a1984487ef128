"""Kafka down while intake accepts a command: the command succeeds, the event is delayed, not lost."""

import uuid

import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import collect, eventually, header
from shared.testing.services import running_service

pytestmark = [pytest.mark.integration, pytest.mark.infra_outage]


async def test_a_command_accepted_while_kafka_is_down_reaches_kafka_once_it_is_back(
    kafka_bootstrap, database_url, kafka_controller
):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1) as intake:
        await kafka_controller.stop_kafka_async()
        response = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                            json={"display_name": "Robin", "specialist_id": "s-1"})
        assert response.status_code == 201, response.text
        pid = response.json()["participant_id"]
        waiting = await intake.runtime.pool.fetchval("SELECT count(*) FROM outbox")
        assert waiting == 1, "the event waits in the outbox while Kafka is down"

        await kafka_controller.start_kafka_async()
        await eventually(lambda: intake.runtime.pool.fetchval("SELECT count(*) = 0 FROM outbox"), timeout=60,
                         message="the relay to drain the outbox after Kafka came back")
    records = await collect(kafka_bootstrap, "waypoint.intake.v1", lambda r: header(r, "ce_subject") == pid)
    assert [header(r, "ce_type") for r in records] == ["waypoint.intake.ParticipantEnrolled.v1"]


async def test_a_service_starts_and_accepts_commands_while_kafka_is_down(kafka_bootstrap, database_url,
                                                                         kafka_controller):
    """Readiness stays 200 (commands can be accepted); Kafka-bound work reports itself waiting,
    and starts (topics, relay) once Kafka is back."""
    import asyncio
    import contextlib

    agency = f"agency-{uuid.uuid4().hex[:6]}"
    await kafka_controller.stop_kafka_async()
    async with contextlib.AsyncExitStack() as stack:
        intake = await asyncio.wait_for(stack.enter_async_context(running_service(
            "intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url, relay_poll_interval_s=0.1,
            wait_for_kafka=False)), 30)
        ready = await intake.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": True, "kafka": False, "topics": False}
        assert ready.json()["kafka_bound"] == "waiting"
        kafka_only = await intake.client.get("/health/ready/kafka")
        assert kafka_only.status_code == 503 and kafka_only.json()["type"].endswith("/kafka-not-ready")
        response = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                            json={"display_name": "Robin", "specialist_id": "s-1"})
        assert response.status_code == 201, response.text
        pid = response.json()["participant_id"]

        await kafka_controller.start_kafka_async()
        await eventually(lambda: intake.runtime.pool.fetchval("SELECT count(*) = 0 FROM outbox"), timeout=60,
                         message="the relay to drain the outbox once Kafka and the topics are there")
        assert (await intake.client.get("/health/ready")).json()["kafka_bound"] == "ready"
    records = await collect(kafka_bootstrap, "waypoint.intake.v1", lambda r: header(r, "ce_subject") == pid)
    assert [header(r, "ce_type") for r in records] == ["waypoint.intake.ParticipantEnrolled.v1"]


async def test_a_topic_kafka_refuses_to_create_is_an_error_not_ignored(kafka_bootstrap):
    """Replication factor 3 on the suite's single broker: Kafka refuses, and topic set-up says so."""
    from shared.runtime import TopicSetupError, ensure_topics
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service=f"svc{uuid.uuid4().hex[:6]}", kafka_bootstrap_servers=kafka_bootstrap,
                               kafka_replication_factor=3)
    with pytest.raises(TopicSetupError, match=r"waypoint\.svc.*\.dlq: error 38"):
        await ensure_topics(settings)
