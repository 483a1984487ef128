"""Faults around the idempotent consumer, on real Kafka and PostgreSQL: a poison record reaches
the dead-letter topic exactly once whatever fails around it, and PostgreSQL being busy or
unavailable never dead-letters a valid event."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError

import shared.catalogue  # noqa: F401
from shared import cloudevents, faults
from shared.eventstore import PostgresEventStore
from shared.inbox import EventConsumer, dlq_topic
from shared.testing.kafka import collect, eventually, header, produce_raw
from tests.integration.kernel.test_outbox_and_inbox import _enrolled

pytestmark = pytest.mark.integration


def _consumer(pool, bootstrap, topic, group, *, batch: bool, max_attempts: int = 5):
    async def one(received, uow):
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    async def many(conn, fresh):
        await conn.executemany("INSERT INTO effects (event_id) VALUES ($1)", [(e.event_id,) for e in fresh])

    return EventConsumer(
        name=group, service="monitoring", topics=[topic], handler=one, pool=pool, store=PostgresEventStore(pool),
        bootstrap=bootstrap, batch_handler=many if batch else None, max_attempts=max_attempts,
    )


async def _run(consumer):
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    return task


async def _stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _poison_then_good(bootstrap, topic):
    """A record with a readable ce_id but an unreadable body, then a good one (same partition)."""
    poison, good = _enrolled(), _enrolled()
    _, _, headers = cloudevents.encode(poison, "intake")
    await produce_raw(bootstrap, topic, b"{not json", key=b"p", headers=headers)
    _, value, headers = cloudevents.encode(good, "intake")
    await produce_raw(bootstrap, topic, value, key=b"p", headers=headers)
    return poison, good


async def _dead_copies(bootstrap, topic):
    return await collect(bootstrap, dlq_topic("monitoring"), lambda r: header(r, "dlq_original_topic") == topic,
                         count=1, timeout=15)


@pytest.mark.parametrize("batch", [True, False], ids=["batch-path", "record-path"])
async def test_a_failed_dlq_send_is_retried_and_the_poison_record_reaches_the_dlq_once(kernel_db, kafka_bootstrap,
                                                                                        batch):
    pool, _ = kernel_db
    topic = f"t.dlqfail.{uuid.uuid4().hex[:8]}"
    poison, good = await _poison_then_good(kafka_bootstrap, topic)
    faults.arm("inbox.before_dlq_send", KafkaConnectionError("DLQ unreachable"), times=2)
    consumer = _consumer(pool, kafka_bootstrap, topic, f"dlqfail-{uuid.uuid4().hex[:6]}", batch=batch)
    task = await _run(consumer)
    try:
        dead = await _dead_copies(kafka_bootstrap, topic)
        assert [header(r, "ce_id") for r in dead] == [str(poison.event_id)]
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.event_id),
                         message="the good record")
        recorded = await pool.fetchrow("SELECT * FROM dead_letters WHERE event_id = $1", poison.event_id)
        assert recorded["consumer"] == consumer.group_id and "JSONDecodeError" in recorded["reason"]
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.event_id) == 0
    finally:
        await _stop(task)


@pytest.mark.parametrize("batch", [True, False], ids=["batch-path", "record-path"])
@pytest.mark.parametrize("crash_at", ["inbox.before_dlq_send", "inbox.after_commit_before_offsets"])
async def test_a_consumer_dying_around_the_dlq_send_dead_letters_the_record_exactly_once(kernel_db, kafka_bootstrap,
                                                                                         batch, crash_at):
    """The task is cancelled at the fault point (the process dies there): offsets are not committed,
    a new consumer in the same group gets the records again."""
    pool, _ = kernel_db
    topic = f"t.dlqcrash.{uuid.uuid4().hex[:8]}"
    group = f"dlqcrash-{uuid.uuid4().hex[:6]}"
    poison, good = await _poison_then_good(kafka_bootstrap, topic)
    faults.arm(crash_at, asyncio.CancelledError())
    first = _consumer(pool, kafka_bootstrap, topic, group, batch=batch)
    task = await _run(first)
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)  # died at the point
    assert crash_at not in faults._armed
    second = await _run(_consumer(pool, kafka_bootstrap, topic, group, batch=batch))
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", good.event_id),
                         message="the good record")
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM dead_letters WHERE event_id = $1",
                                               poison.event_id), message="the dead letter recorded")
        dead = await _dead_copies(kafka_bootstrap, topic)
        assert [header(r, "ce_id") for r in dead] == [str(poison.event_id)]
        assert await pool.fetchval("SELECT count(*) FROM effects") == 1
    finally:
        await _stop(second)


async def test_postgresql_busy_or_locked_is_retried_not_dead_lettered(kernel_db, kafka_bootstrap):
    """Query cancelled (statement_timeout) three times, then lock not available (NOWAIT on a row a
    test transaction holds) until the test lets go: far more failures than max_attempts, and the
    event is applied once, nothing dead-lettered."""
    pool, dsn = kernel_db
    await pool.execute("CREATE TABLE busy (id INT PRIMARY KEY); INSERT INTO busy VALUES (1)")
    topic = f"t.pgbusy.{uuid.uuid4().hex[:8]}"
    attempts: list[str] = []

    async def handler(received, uow):
        if len(attempts) < 3:
            attempts.append("cancel")
            await uow.conn.execute("SET LOCAL statement_timeout = 20")
            await uow.conn.execute("SELECT pg_sleep(2)")
        attempts.append("lock")
        await uow.conn.execute("SELECT 1 FROM busy WHERE id = 1 FOR UPDATE NOWAIT")
        await uow.conn.execute("INSERT INTO effects (event_id) VALUES ($1)", received.event_id)

    consumer = EventConsumer(
        name=f"pgbusy-{uuid.uuid4().hex[:6]}", service="monitoring", topics=[topic], handler=handler, pool=pool,
        store=PostgresEventStore(pool), bootstrap=kafka_bootstrap, max_attempts=2,
    )
    holder = await asyncpg.connect(dsn)
    lock = holder.transaction()
    await lock.start()
    await holder.execute("SELECT 1 FROM busy WHERE id = 1 FOR UPDATE")
    task = await _run(consumer)
    try:
        new = _enrolled()
        key, value, headers = cloudevents.encode(new, "intake")
        await produce_raw(kafka_bootstrap, topic, value, key=key.encode(), headers=headers)
        await eventually(lambda: _at_least(attempts, "lock", 2), message="the lock failures")
        await lock.rollback()
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", new.event_id),
                         message="the event once PostgreSQL is available")
        assert attempts.count("cancel") == 3
        assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
        dead = await collect(kafka_bootstrap, dlq_topic("monitoring"),
                             lambda r: header(r, "dlq_original_topic") == topic, count=1, timeout=2)
        assert dead == []
    finally:
        await _stop(task)
        await holder.close()


async def _at_least(items, what, n):
    return items.count(what) >= n
