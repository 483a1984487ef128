"""The outbox relay and the idempotent consumer, on real Kafka and PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

import shared.catalogue  # noqa: F401
from shared import cloudevents
from shared.catalogue.intake import ParticipantEnrolled
from shared.envelope import Metadata, NewEvent
from shared.eventstore import PostgresEventStore
from shared.inbox import EventConsumer, dlq_topic
from shared.outbox import OutboxRelay, enqueue
from shared.testing.kafka import collect, eventually, header, produce_raw

pytestmark = pytest.mark.integration


def _enrolled(agency: str = "agency-a") -> NewEvent:
    pid = uuid.uuid4()
    return NewEvent(
        stream_id=f"participant-{pid}", stream_type="participant", agency_id=agency, participant_id=pid,
        event=ParticipantEnrolled(participant_id=pid, enrolled_at=datetime.now(UTC)),
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )


async def _start_consumer(pool, bootstrap, topic, name):
    async def handler(received, uow):
        await uow.conn.execute(
            "INSERT INTO effects (event_id, participant_id) VALUES ($1, $2)", received.event_id,
            received.participant_id,
        )

    consumer = EventConsumer(
        name=name, service="monitoring", topics=[topic], handler=handler, pool=pool,
        store=PostgresEventStore(pool), bootstrap=bootstrap,
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    return consumer, task


async def _stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_same_record_delivered_twice_changes_nothing(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.dup.{uuid.uuid4().hex[:8]}"
    new = _enrolled()
    key, value, headers = cloudevents.encode(new, "intake")
    _, task = await _start_consumer(pool, kafka_bootstrap, topic, f"dup-{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(2):
            await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        marker = _enrolled()
        k2, v2, h2 = cloudevents.encode(marker, "intake")
        await produce_raw(kafka_bootstrap, topic, v2, key=k2.encode(), headers=h2)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", marker.event_id),
                         message="the record after the duplicate to be handled")
        assert await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", new.event_id) == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", new.event_id) == 1
    finally:
        await _stop(task)


async def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_next_is_processed(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.poison.{uuid.uuid4().hex[:8]}"
    consumer, task = await _start_consumer(pool, kafka_bootstrap, topic, f"poison-{uuid.uuid4().hex[:6]}")
    try:
        good = _enrolled()
        key, value, headers = cloudevents.encode(good, "intake")
        poison_key = f"poison-{uuid.uuid4()}".encode()
        await produce_raw(kafka_bootstrap, topic, b"{this is not json", key=key.encode(), headers=headers)
        await produce_raw(kafka_bootstrap, topic, b"{}", key=poison_key, headers=[("ce_specversion", b"1.0")])
        await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.event_id),
                         message="the good record after the poison ones")
        dead = await collect(kafka_bootstrap, dlq_topic("monitoring"),
                             lambda r: header(r, "dlq_original_topic") == topic, count=2)
        assert len(dead) == 2
        by_value = {r.value: r for r in dead}
        first = by_value[b"{this is not json"]
        assert "JSONDecodeError" in header(first, "dlq_reason")
        assert header(first, "dlq_original_partition") is not None
        assert header(first, "dlq_original_offset") is not None
        assert header(first, "dlq_consumer") == consumer.group_id
        assert "missing header" in header(by_value[b"{}"], "dlq_reason")
        assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    finally:
        await _stop(task)


async def test_the_relay_publishes_committed_outbox_rows_in_order_and_deletes_them(kernel_db, kafka_bootstrap):
    pool, dsn = kernel_db
    participant_events = []
    first = _enrolled(agency=f"agency-{uuid.uuid4().hex[:6]}")
    for _ in range(5):
        participant_events.append(
            NewEvent(**{**first.__dict__, "event_id": uuid.uuid4(), "metadata": Metadata(correlation_id="c")})
        )
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, "intake", participant_events)
    relay = OutboxRelay(pool, dsn, kafka_bootstrap, "intake", poll_interval=0.1)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _empty(pool), message="the outbox to drain")
        records = await collect(kafka_bootstrap, "waypoint.intake.v1",
                                lambda r: header(r, "ce_agencyid") == first.agency_id, count=5)
        assert [header(r, "ce_id") for r in records] == [str(e.event_id) for e in participant_events]
    finally:
        await _stop(task)


async def _empty(pool):
    return await pool.fetchval("SELECT count(*) = 0 FROM outbox")


async def test_only_one_relay_per_service_is_active(kernel_db, kafka_bootstrap):
    pool, dsn = kernel_db
    relays = [OutboxRelay(pool, dsn, kafka_bootstrap, f"svc-{uuid.uuid4().hex[:6]}") for _ in range(1)]
    same = relays[0]
    twin = OutboxRelay(pool, dsn, kafka_bootstrap, same._service)
    tasks = [asyncio.create_task(same.run()), asyncio.create_task(twin.run())]
    try:
        await eventually(lambda: _any_leader(same, twin), message="a leader")
        await asyncio.sleep(1.5)
        assert [same.is_leader, twin.is_leader].count(True) == 1
    finally:
        for t in tasks:
            await _stop(t)


async def _any_leader(*relays):
    return any(r.is_leader for r in relays)


async def _consumer_with(pool, bootstrap, topic, handler):
    consumer = EventConsumer(
        name=f"h-{uuid.uuid4().hex[:6]}", service="monitoring", topics=[topic], handler=handler, pool=pool,
        store=PostgresEventStore(pool), bootstrap=bootstrap, max_attempts=3,
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    return consumer, task


async def test_a_transient_failure_is_retried_without_skipping_and_applied_once(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.transient.{uuid.uuid4().hex[:8]}"
    attempts = []

    async def flaky(received, uow):
        attempts.append(received.event_id)
        if len(attempts) <= 2:
            raise ConnectionError("database went away")
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    _, task = await _consumer_with(pool, kafka_bootstrap, topic, flaky)
    try:
        new = _enrolled()
        key, value, headers = cloudevents.encode(new, "intake")
        await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", new.event_id),
                         message="the event after two transient failures")
        assert len(attempts) == 3
        assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    finally:
        await _stop(task)


async def test_an_event_a_rule_rejects_is_dead_lettered_and_its_effects_undone(kernel_db, kafka_bootstrap):
    from shared.domain import InvalidCommand

    pool, _ = kernel_db
    topic = f"t.rejected.{uuid.uuid4().hex[:8]}"
    rejected, accepted = _enrolled(), _enrolled()

    async def strict(received, uow):
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)
        if received.event_id == rejected.event_id:
            raise InvalidCommand("this participant cannot be enrolled here", field="agency_id")

    _, task = await _consumer_with(pool, kafka_bootstrap, topic, strict)
    try:
        for new in (rejected, accepted):
            key, value, headers = cloudevents.encode(new, "intake")
            await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", accepted.event_id),
                         message="the event after the rejected one")
        dead = await collect(kafka_bootstrap, dlq_topic("monitoring"),
                             lambda r: header(r, "dlq_original_topic") == topic)
        assert [header(r, "ce_id") for r in dead] == [str(rejected.event_id)]
        assert "InvalidCommand" in header(dead[0], "dlq_reason")
        assert await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", rejected.event_id) == 0
        # Its dead-letter row is written once the DLQ acknowledged it (a redelivery finds it and
        # sends nothing twice); no inbox row, so a redrive is handled.
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM dead_letters WHERE event_id = $1",
                                               rejected.event_id), message="the dead letter recorded")
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", rejected.event_id) == 0
    finally:
        await _stop(task)


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_attempts(kernel_db, kafka_bootstrap):
    pool, _ = kernel_db
    topic = f"t.bug.{uuid.uuid4().hex[:8]}"
    broken, fine = _enrolled(), _enrolled()

    async def buggy(received, uow):
        if received.event_id == broken.event_id:
            raise KeyError("a bug")
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    _, task = await _consumer_with(pool, kafka_bootstrap, topic, buggy)
    try:
        for new in (broken, fine):
            key, value, headers = cloudevents.encode(new, "intake")
            await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", fine.event_id),
                         timeout=40, message="the event after the one that keeps failing")
        dead = await collect(kafka_bootstrap, dlq_topic("monitoring"),
                             lambda r: header(r, "dlq_original_topic") == topic)
        assert "gave up after 3 attempts" in header(dead[0], "dlq_reason")
    finally:
        await _stop(task)


async def test_a_batch_handler_sees_each_event_once_and_a_failing_batch_falls_back_record_by_record(
    kernel_db, kafka_bootstrap
):
    from shared.domain import InvalidCommand

    pool, _ = kernel_db
    topic = f"t.batch.{uuid.uuid4().hex[:8]}"
    good, twice, bad = _enrolled(), _enrolled(), _enrolled()
    batches = []

    async def apply_fresh(conn, fresh):
        batches.append([e.event_id for e in fresh])
        if any(e.event_id == bad.event_id for e in fresh):
            raise RuntimeError("one event in this batch breaks the bulk path")
        await conn.executemany("INSERT INTO effects (event_id) VALUES ($1)", [(e.event_id,) for e in fresh])

    async def apply_one(received, uow):
        if received.event_id == bad.event_id:
            raise InvalidCommand("cannot apply this one")
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    consumer = EventConsumer(
        name=f"b-{uuid.uuid4().hex[:6]}", service="monitoring", topics=[topic], handler=apply_one, pool=pool,
        store=PostgresEventStore(pool), bootstrap=kafka_bootstrap, batch_handler=apply_fresh,
    )
    for new in (good, twice, twice):
        _, value, headers = cloudevents.encode(new, "intake")
        await produce_raw(kafka_bootstrap, topic, value, key=b"same-partition", headers=headers)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", twice.event_id),
                         message="the first batch")
        assert batches[0] == [good.event_id, twice.event_id]
        for new in (bad, twice):
            _, value, headers = cloudevents.encode(new, "intake")
            await produce_raw(kafka_bootstrap, topic, value, key=b"same-partition", headers=headers)
        dead = await collect(kafka_bootstrap, dlq_topic("monitoring"),
                             lambda r: header(r, "dlq_original_topic") == topic)
        assert [header(r, "ce_id") for r in dead] == [str(bad.event_id)]
        counts = dict(await pool.fetch("SELECT event_id, count(*) FROM effects GROUP BY event_id"))
        assert counts == {good.event_id: 1, twice.event_id: 1}
    finally:
        await _stop(task)


async def test_types_a_consumer_does_not_handle_cost_no_database_work(kernel_db, kafka_bootstrap):
    from shared.catalogue.intake import ParticipantDischarged

    pool, _ = kernel_db
    topic = f"t.types.{uuid.uuid4().hex[:8]}"
    seen = []

    async def only_discharges(received, uow):
        seen.append(received.event_type)

    consumer = EventConsumer(
        name=f"f-{uuid.uuid4().hex[:6]}", service="monitoring", topics=[topic], handler=only_discharges, pool=pool,
        store=PostgresEventStore(pool), bootstrap=kafka_bootstrap, event_types={"ParticipantDischarged"},
    )
    enrolled = _enrolled()
    discharge = ParticipantDischarged(participant_id=enrolled.participant_id, reason="plan_completed",
                                      discharged_at=datetime.now(UTC))
    discharged = NewEvent(**{**enrolled.__dict__, "event_id": uuid.uuid4(), "event": discharge})
    for new in (enrolled, discharged):
        _, value, headers = cloudevents.encode(new, "intake")
        await produce_raw(kafka_bootstrap, topic, value, key=b"p", headers=headers)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _seen(seen), message="the discharge")
        assert seen == ["ParticipantDischarged"]
        inbox = await pool.fetch("SELECT event_id FROM inbox WHERE consumer = $1", consumer.group_id)
        assert [r["event_id"] for r in inbox] == [discharged.event_id]
    finally:
        await _stop(task)


async def _seen(items):
    return bool(items)
