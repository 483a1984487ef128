"""Kafka down: while intake accepts a command (the command succeeds, the event is delayed, not
lost), under running consumers, and at the moment a poison record is to be dead-lettered."""

import asyncio
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


async def test_consumers_ride_out_kafka_down_and_handle_each_event_once(kafka_bootstrap, database_url,
                                                                         kafka_controller):
    """Kafka as the consumers see it: the broker goes away under a running consumer and comes back;
    what was accepted meanwhile is handled once, what was handled before is not handled again."""
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    started = "SELECT count(*) FROM events WHERE event_type = 'MonitoringStarted' AND participant_id = $1"
    async with (
        running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                        relay_poll_interval_s=0.1) as intake,
        running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as monitoring,
    ):
        async def enrol() -> uuid.UUID:
            r = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                         json={"display_name": "Robin", "specialist_id": "s-1"})
            assert r.status_code == 201, r.text
            return uuid.UUID(r.json()["participant_id"])

        before = await enrol()
        await eventually(lambda: monitoring.runtime.pool.fetchval(started, before), timeout=45,
                         message="the consumer working before the outage")
        await kafka_controller.stop_kafka_async()
        during = await enrol()  # accepted: its event waits in intake's outbox
        await kafka_controller.start_kafka_async()
        await eventually(lambda: monitoring.runtime.pool.fetchval(started, during), timeout=90,
                         message="the consumer to handle what was accepted during the outage")
        after = await enrol()
        await eventually(lambda: monitoring.runtime.pool.fetchval(started, after), timeout=45,
                         message="the consumer still working after the outage")
        assert [await monitoring.runtime.pool.fetchval(started, p) for p in (before, during, after)] == [1, 1, 1]


async def test_kafka_down_at_the_dlq_send_delays_the_poison_record_and_sends_it_once(kernel_db, kafka_bootstrap,
                                                                                     kafka_controller):
    """Kafka as the DLQ producer sees it: the broker stops right when a poison record is to be
    dead-lettered. The send fails, the batch is retried (nothing dead-lettered, nothing skipped);
    once Kafka is back the record reaches the DLQ once and the good record behind it is handled once."""
    from shared import inbox
    from tests.integration.kernel.test_consumer_faults import _consumer, _dead_copies, _poison_then_good, _run, _stop

    pool, _ = kernel_db
    topic = f"t.dlqdown.{uuid.uuid4().hex[:8]}"
    poison, good = await _poison_then_good(kafka_bootstrap, topic)
    consumer = _consumer(pool, kafka_bootstrap, topic, f"dlqdown-{uuid.uuid4().hex[:6]}", batch=False)
    real_send = consumer._send_dead
    went_down = asyncio.Event()

    async def kafka_gone_first(dlq, record, reason):
        if not went_down.is_set():
            await kafka_controller.stop_kafka_async()
            went_down.set()
        return await real_send(dlq, record, reason)

    consumer._send_dead = kafka_gone_first
    retries = inbox.RETRIES.labels(consumer.group_id)
    task = await _run(consumer)
    try:
        await asyncio.wait_for(went_down.wait(), 60)
        await eventually(lambda: _true(retries._value.get() >= 1), timeout=60,
                         message="the DLQ send to fail and the batch to be retried")
        assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
        await kafka_controller.start_kafka_async()
        dead = await _dead_copies(kafka_bootstrap, topic)
        assert [header(r, "ce_id") for r in dead] == [str(poison.event_id)]
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.event_id),
                         timeout=60, message="the good record behind it")
        assert await pool.fetchval("SELECT count(*) FROM dead_letters WHERE event_id = $1", poison.event_id) == 1
        assert await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.event_id) == 1
    finally:
        await _stop(task)


async def _true(value: bool) -> bool:
    return value
