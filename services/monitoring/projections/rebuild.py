"""Rebuild the read models (timeline, caseload, overview counts) from the topics.

Reads the four topics from their beginning up to the offsets they have when the rebuild starts,
inside one transaction that first empties the read models and the read-model consumer's inbox.
The live consumer may keep running: it waits on the emptied tables' locks and, once the rebuild
committed, skips every event the rebuild recorded in the inbox. Events are applied a batch at a
time through the same batch path the live consumer uses (``read_models.apply_fresh``), with one
inbox statement per batch. Run it as ``waypoint rebuild monitoring`` (a progress bar) or
``python -m services.monitoring.projections.rebuild``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.monitoring.projections import read_models
from shared import (
    catalogue,  # noqa: F401  (registers every event type)
    cloudevents,
)
from shared.cloudevents import PoisonRecord, ReceivedEvent
from shared.events import SERVICES
from shared.inbox_table import PostgresInbox
from shared.tenancy import system_scope

log = structlog.get_logger(__name__)
GROUP_ID = read_models.GROUP_ID
TABLES = ("timeline", "caseload", "open_alerts", "daily_counts")
#: Records read and applied at a time (one inbox statement and one batch apply each).
BATCH = 5000


#: Called as ``progress(records_read, records_total)`` while a rebuild reads the topics.
Progress = Callable[[int, int], None]


async def rebuild(
    pool: asyncpg.Pool, bootstrap: str, progress: Progress | None = None, *, topics: Sequence[str] | None = None,
    client_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Rebuild the read models from ``topics`` (default: the four services' topics): every
    agency's rows, so a cross-agency job, in the system scope of row-level security.
    ``client_options``: Kafka security options (ServiceSettings.kafka_client_options)."""
    with system_scope():
        return await _rebuild(pool, bootstrap, progress, topics=topics, client_options=client_options)


@dataclass
class _Reading:
    """Where a rebuild's reading stands: the partitions still to read up to ``end``, and counts."""

    end: dict[TopicPartition, int]
    remaining: set[TopicPartition]
    total: int
    read: int = 0
    skipped: int = 0


async def _rebuild(
    pool: asyncpg.Pool, bootstrap: str, progress: Progress | None = None, *, topics: Sequence[str] | None = None,
    client_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
        **(client_options or {}),
    )
    await consumer.start()
    applied = 0
    try:
        reading = await _from_the_beginning(consumer, topics or [cloudevents.topic_for(s) for s in SERVICES])
        if progress:
            progress(0, reading.total)
        async with pool.acquire() as conn, conn.transaction():
            await _empty_read_models(conn)
            # Reading and decoding (Python) overlaps applying (PostgreSQL): while one batch is in
            # the database, the next is fetched and decoded.
            batches: asyncio.Queue[list[ReceivedEvent] | None] = asyncio.Queue(maxsize=2)
            reader = asyncio.create_task(_read_and_decode(consumer, reading, batches))
            try:
                while (decoded := await batches.get()) is not None:
                    fresh = await _apply_batch(conn, decoded)
                    applied += fresh
                    reading.skipped += len(decoded) - fresh
                    if progress:
                        progress(reading.read, reading.total)
                await reader
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
    finally:
        await consumer.stop()
    log.info("read models rebuilt", applied=applied, skipped=reading.skipped)
    return {"applied": applied, "skipped": reading.skipped}


async def _from_the_beginning(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> _Reading:
    """Assign every partition of ``topics`` from its first offset up to where it ends now."""
    # aiokafka has no public call for "partitions of a topic I have not subscribed to"
    cluster = await consumer._client.fetch_all_metadata()
    partitions = [
        TopicPartition(topic, p) for topic in topics for p in sorted(cluster.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    end = await consumer.end_offsets(partitions)
    start = await consumer.beginning_offsets(partitions)
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    total = sum(end[tp] - start[tp] for tp in partitions)
    return _Reading(end, {tp for tp in partitions if end[tp] > 0}, total)


async def _empty_read_models(conn: asyncpg.Connection) -> None:
    # Waits for writers projecting inline to commit, then makes the next ones leave their
    # events to the consumer, which catches up after this transaction.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", read_models.REBUILD_LOCK)
    # DELETE, not TRUNCATE: the service's role may not truncate (TRUNCATE ignores row-level
    # security); in the system scope DELETE reaches every agency's rows. The lock keeps what
    # TRUNCATE's lock gave (no projector writes these tables until the rebuild commits), and
    # takes the inbox first: a consumer that already recorded an event there finishes its
    # transaction before the read-model tables are locked (no deadlock with it).
    await conn.execute(f"LOCK TABLE inbox, {', '.join(TABLES)} IN EXCLUSIVE MODE")
    for table in TABLES:
        await conn.execute(f"DELETE FROM {table}")
    await conn.execute("DELETE FROM inbox WHERE consumer = $1", GROUP_ID)


async def _read_and_decode(
    consumer: AIOKafkaConsumer, reading: _Reading, batches: asyncio.Queue[list[ReceivedEvent] | None]
) -> None:
    """Fetch and decode batches up to the end offsets onto ``batches``; None when all is read."""
    end, remaining = reading.end, reading.remaining
    while remaining:
        fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=BATCH)
        decoded = []
        for tp, records in fetched.items():
            for record in records:
                if record.offset >= end[tp]:
                    continue
                reading.read += 1
                try:
                    decoded.append(cloudevents.decode(record.topic, record.partition, record.offset,
                                                      record.value, record.headers))
                except PoisonRecord:  # the live consumer dead-lettered it too
                    reading.skipped += 1
        await batches.put(decoded)
        for tp in list(remaining):
            if await consumer.position(tp) >= end[tp]:
                remaining.discard(tp)
    await batches.put(None)


async def _apply_batch(conn: asyncpg.Connection, decoded: list[ReceivedEvent]) -> int:
    """Record a batch's events in the inbox (one statement) and apply those not seen before the way
    the live consumer's batch path does (:func:`read_models.apply_fresh`); returns how many."""
    first: dict[UUID, ReceivedEvent] = {}
    for e in decoded:
        first.setdefault(e.event_id, e)  # the first of each id, in order
    unique = list(first.values())
    if not unique:
        return 0
    inserted = await PostgresInbox(conn).record(GROUP_ID, [e.event_id for e in unique])
    fresh = [e for e in unique if e.event_id in inserted]
    await read_models.apply_fresh(conn, fresh)
    return len(fresh)


def main() -> None:
    from shared.db import create_pool
    from shared.settings import load_settings

    async def run() -> None:
        cfg = load_settings("monitoring")
        pool = await create_pool(cfg.dsn, min_size=1, max_size=2)
        try:
            print(await rebuild(pool, cfg.kafka_bootstrap_servers, client_options=cfg.kafka_client_options()))
        finally:
            await pool.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
