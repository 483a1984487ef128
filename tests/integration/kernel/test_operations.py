"""Operational figures on real Kafka and PostgreSQL: consumer lag, outbox age, dead letters, the
status endpoint, and redriving a dead-lettered record (applied once)."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

import shared.catalogue  # noqa: F401
from deploy import dlq
from shared import cloudevents
from shared.catalogue.intake import ParticipantEnrolled
from shared.domain import InvalidCommand
from shared.envelope import Metadata, NewEvent
from shared.eventstore import PostgresEventStore
from shared.inbox import EventConsumer, dlq_topic
from shared.operations import GroupSpec, collect, database_figures, kafka_figures, publish
from shared.testing.auth import bearer
from shared.testing.db import fresh_kernel_database
from shared.testing.kafka import eventually, produce_raw
from shared.testing.services import running_service

pytestmark = pytest.mark.integration


def _enrolled() -> NewEvent:
    pid = uuid.uuid4()
    return NewEvent(
        stream_id=f"participant-{pid}", stream_type="participant", agency_id="agency-ops", participant_id=pid,
        event=ParticipantEnrolled(participant_id=pid, enrolled_at=datetime.now(UTC)),
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )


async def _produce(bootstrap: str, topic: str, new: NewEvent) -> None:
    key, value, headers = cloudevents.encode(new, "intake")
    await produce_raw(bootstrap, topic, value, key=key.encode(), headers=headers)


@pytest.fixture
async def kernel_db(database_url):
    pool, dsn = await fresh_kernel_database(database_url)
    await pool.execute("CREATE TABLE effects (event_id UUID NOT NULL)")
    await pool.execute("CREATE TABLE repaired (participant_id UUID PRIMARY KEY)")
    yield pool, dsn
    await pool.close()


class _Consumer:
    """An EventConsumer that can be stopped and started again (same group)."""

    def __init__(self, pool, bootstrap, topic, service, handler, name="ops"):
        self.consumer = EventConsumer(name=name, service=service, topics=[topic], handler=handler, pool=pool,
                                      store=PostgresEventStore(pool), bootstrap=bootstrap)
        self.task = None

    async def start(self):
        self.consumer.started.clear()
        self.task = asyncio.create_task(self.consumer.run())
        await asyncio.wait_for(self.consumer.started.wait(), 30)

    async def stop(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _recording(received, uow):
    await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)


async def _lag(bootstrap, group, topic) -> int:
    rows, _ = await kafka_figures(bootstrap, [GroupSpec(group, [topic])], {})
    return rows[0]["lag"]


async def test_consumer_lag_rises_while_the_consumer_is_stopped_and_falls_after(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.lag.{uuid.uuid4().hex[:8]}"
    service = f"ops{uuid.uuid4().hex[:6]}"
    worker = _Consumer(pool, kafka_bootstrap, topic, service, _recording)
    await worker.start()
    group = worker.consumer.group_id
    try:
        for _ in range(3):
            await _produce(kafka_bootstrap, topic, _enrolled())
        await eventually(lambda: _zero(_lag(kafka_bootstrap, group, topic)), timeout=30,
                         message="the running consumer to commit what it handled")
    finally:
        await worker.stop()

    for _ in range(5):
        await _produce(kafka_bootstrap, topic, _enrolled())
    assert await _lag(kafka_bootstrap, group, topic) == 5, "five records wait for the stopped consumer"

    status = {"service": service, "outbox": {"rows": 0, "oldest_age_s": 0.0, "quarantined": None},
              "consumers": (await kafka_figures(kafka_bootstrap, [GroupSpec(group, [topic])], {}))[0],
              "dlq": None, "sweeps": [], "queues": []}
    publish(status, is_leader=False)
    exported = sum(
        s.value for m in REGISTRY.collect() if m.name == "waypoint_consumer_lag" for s in m.samples
        if s.labels["group"] == group
    )
    assert exported == 5, "the gauge /metrics exposes carries the same lag"

    await worker.start()
    try:
        await eventually(lambda: _zero(_lag(kafka_bootstrap, group, topic)), timeout=30,
                         message="the lag to fall back to 0 once the consumer runs again")
        assert await pool.fetchval("SELECT count(*) FROM effects") == 8
    finally:
        await worker.stop()


async def _zero(lag_coro):
    return (await lag_coro) == 0


@pytest.mark.infra_outage
async def test_outbox_age_rises_while_kafka_is_down_and_falls_once_it_is_back(
    kafka_bootstrap, database_url, kafka_controller
):
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1, operations_sample_interval_s=0) as intake:
        pool = intake.runtime.pool
        async with pool.acquire() as conn:
            before = await database_figures(conn, "intake", ())
        assert before["outbox"] == {"rows": 0, "oldest_age_s": 0.0, "quarantined": 0}  # the kernel table exists
        await eventually(lambda: _leads(pool), message="the relay to take the lead")

        await kafka_controller.stop_kafka_async()
        response = await intake.client.post("/v1/participants", headers=bearer(agency_id="agency-ops"),
                                            json={"display_name": "Robin", "specialist_id": "s-1"})
        assert response.status_code == 201, response.text
        async with pool.acquire() as conn:
            first = (await database_figures(conn, "intake", ()))["outbox"]
        assert first["rows"] == 1

        async def older():
            async with pool.acquire() as conn:
                now = (await database_figures(conn, "intake", ()))["outbox"]
            return now["oldest_age_s"] > first["oldest_age_s"] and now["oldest_age_s"] > 0
        await eventually(older, message="the oldest row's age to grow while Kafka is down")

        down = await collect(service="intake", pool=pool, bootstrap=kafka_bootstrap, groups=[],
                             dlq_topic=dlq_topic("intake"))
        assert down["kafka"] is False and "Kafka is not reachable" in down["problems"]

        await kafka_controller.start_kafka_async()

        async def drained():
            async with pool.acquire() as conn:
                return (await database_figures(conn, "intake", ()))["outbox"]["oldest_age_s"] == 0
        await eventually(drained, timeout=60, message="the age to fall to 0 once the relay sent the row")


async def _leads(pool):
    async with pool.acquire() as conn:
        return (await database_figures(conn, "intake", ()))["relay_leader"]


async def test_the_status_endpoint_is_for_operators_and_holds_no_participant_data(
    kafka_bootstrap, database_url, monkeypatch
):
    monkeypatch.setenv("MONITORING_SCHEDULER_ENABLED", "false")  # the sweep stopped: its deadlines wait
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               operations_sample_interval_s=0) as monitoring:
        pid = str(uuid.uuid4())
        assert (await monitoring.client.get("/v1/operations/status", headers=bearer())).status_code == 403
        await eventually(lambda: _leads_monitoring(monitoring), message="the relay to take the lead")
        response = await monitoring.client.get("/v1/operations/status", headers=bearer(roles=("operator",)))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["service"] == "monitoring"
        assert body["relay_leader"] is True and body["kafka"] is True
        assert {c["group"] for c in body["consumers"]} == {c.group_id for c in monitoring.runtime.consumers}
        assert {s["name"] for s in body["sweeps"]} == {"missed-check-ins", "milestones"}
        assert body["dlq"]["topic"] == "waypoint.monitoring.dlq"
        assert pid not in json.dumps(body) and "agency" not in json.dumps(body)

        # a check-in deadline passed and not yet swept shows as sweep lateness
        await monitoring.runtime.pool.execute(
            "INSERT INTO monitored_participants (participant_id, agency_id, active, check_in_deadline)"
            " VALUES ($1, 'agency-ops', true, now() - interval '1 hour')", uuid.UUID(pid))
        body = (await monitoring.client.get("/v1/operations/status", headers=bearer(roles=("operator",)))).json()
        missed = next(s for s in body["sweeps"] if s["name"] == "missed-check-ins")
        assert missed["age_s"] >= 3600
        assert any(p.startswith("sweep missed-check-ins is") for p in body["problems"])

        # a row the sweep set aside (the kernel's set_aside table) is counted apart, not as lateness
        await monitoring.runtime.pool.execute(
            "INSERT INTO set_aside (loop, row_key, reason) VALUES ('monitoring.missed-check-ins', $1, 'a fold error')",
            pid)
        body = (await monitoring.client.get("/v1/operations/status", headers=bearer(roles=("operator",)))).json()
        assert next(s for s in body["sweeps"] if s["name"] == "missed-check-ins")["age_s"] == 0
        assert body["set_aside"] == [{"loop": "monitoring.missed-check-ins", "rows": 1}]
        assert "1 rows set aside by monitoring.missed-check-ins" in body["problems"]
        assert "a fold error" not in json.dumps(body), "reasons may name data: only counts are shown"


async def _leads_monitoring(service):
    return (await service.client.get("/v1/operations/status", headers=bearer(roles=("operator",)))).json()[
        "relay_leader"]


async def test_a_dead_lettered_record_is_shown_redriven_and_applied_once(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.redrive.{uuid.uuid4().hex[:8]}"
    service = f"ops{uuid.uuid4().hex[:6]}"
    rejected, accepted = _enrolled(), _enrolled()

    async def needs_repair(received, uow):
        """Rejects a participant it has not been told about, until an operator repairs that."""
        known = await uow.conn.fetchval("SELECT 1 FROM repaired WHERE participant_id = $1", received.participant_id)
        if received.event_id == rejected.event_id and not known:
            raise InvalidCommand("participant unknown to this service", field="participant_id")
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    other_seen: list[str] = []

    async def bystander(received, uow):
        other_seen.append(str(received.event_id))

    worker = _Consumer(pool, kafka_bootstrap, topic, service, needs_repair, name="failing")
    other = _Consumer(pool, kafka_bootstrap, topic, service, bystander, name="bystander")
    await worker.start()
    await other.start()
    try:
        await _produce(kafka_bootstrap, topic, rejected)
        await _produce(kafka_bootstrap, topic, accepted)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", accepted.event_id),
                         message="the event after the rejected one")

        letters = await eventually(lambda: dlq.read(kafka_bootstrap, service), message="the dead letter")
        assert len(letters) == 1
        letter = letters[0]
        assert letter.id == f"{service}:{letter.partition}:0"
        assert letter.consumer == worker.consumer.group_id
        assert letter.event_id == str(rejected.event_id)
        assert "participant unknown to this service" in letter.reason
        assert letter.summary()["origin"].startswith(f"{topic}:")
        shown = await dlq.show(kafka_bootstrap, letter.id)
        assert shown is not None and shown.value == letter.value
        _, depth = await kafka_figures(kafka_bootstrap, [], {service: dlq_topic(service)})
        assert depth == [{"topic": dlq_topic(service), "depth": 1, "records": 1}]

        listed = await _cli("dlq", "list", "--service", service, "--bootstrap", kafka_bootstrap)
        assert listed.exit_code == 0, listed.output
        assert letter.id in listed.output and "participant unknown" in listed.output
        shown_cli = await _cli("dlq", "show", letter.id, "--bootstrap", kafka_bootstrap)
        assert shown_cli.exit_code == 0, shown_cli.output
        assert "dlq_reason" in shown_cli.output and str(rejected.event_id) in shown_cli.output
        assert (await _cli("dlq", "show", "nonsense", "--bootstrap", kafka_bootstrap)).exit_code == 2

        await pool.execute("INSERT INTO repaired VALUES ($1)", rejected.participant_id)  # the operator's fix
        redriven = await _cli("dlq", "redrive", "--all", "--service", service, "--bootstrap", kafka_bootstrap)
        assert redriven.exit_code == 0, redriven.output
        assert f"redrove {letter.id} to {worker.consumer.group_id}" in redriven.output
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", rejected.event_id),
                         message="the redriven record to be applied")
        _, depth = await kafka_figures(kafka_bootstrap, [], {service: dlq_topic(service)})
        assert depth[0]["depth"] == 0, "nothing left to redrive"
        assert (await dlq.read(kafka_bootstrap, service))[0].redriven

        # sent again (by id): the inbox accepts it once only
        assert await dlq.redrive(kafka_bootstrap, [letter]) == 1
        marker = _enrolled()
        await _produce(kafka_bootstrap, topic, marker)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", marker.event_id),
                         message="a record after the second redrive")
        assert await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", rejected.event_id) == 1
        assert await dlq.redrive_all(kafka_bootstrap, service) == [], "nothing new to redrive"
        await eventually(lambda: _contains(other_seen, str(marker.event_id)), message="the bystander's marker")
        assert other_seen.count(str(rejected.event_id)) == 1
        skipped = REGISTRY.get_sample_value("waypoint_events_skipped_total", {"consumer": other.consumer.group_id})
        assert skipped == 2, "both redrives were for the group that failed, the bystander left them"
    finally:
        await worker.stop()
        await other.stop()


async def _cli(*args: str):
    """``waypoint ARGS`` in a thread (the commands run their own event loop)."""
    from typer.testing import CliRunner

    from deploy.cli import app

    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def _contains(seen, item):
    return item in seen


def test_a_dead_letter_id_is_checked():
    assert dlq.parse_id("monitoring:2:15") == ("monitoring", 2, 15)
    for bad in ("monitoring", "monitoring:x:1", "a:b:c:d", ":1:2"):
        with pytest.raises(ValueError, match="service:partition:offset"):
            dlq.parse_id(bad)
