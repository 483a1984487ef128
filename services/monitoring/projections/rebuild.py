"""Rebuild the read models (timeline, caseload, overview counts) from the topics.

Reads the four topics from their beginning up to the offsets they have when the rebuild starts,
inside one transaction that first empties the read models and the read-model consumer's inbox.
The live consumer may keep running: it waits on the emptied tables' locks and, once the rebuild
committed, skips every event the rebuild recorded in the inbox. Run it as
``python -m services.monitoring.projections.rebuild``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.monitoring.projections import caseload, overview, read_models, timeline
from shared import (
    catalogue,  # noqa: F401  (registers every event type)
    cloudevents,
)
from shared.cloudevents import PoisonRecord
from shared.events import SERVICES
from shared.tenancy import system_scope

log = structlog.get_logger(__name__)
GROUP_ID = read_models.GROUP_ID
TABLES = ("timeline", "caseload", "open_alerts", "daily_counts")


async def rebuild(pool: asyncpg.Pool, bootstrap: str) -> dict[str, Any]:
    """Every agency's read models again from the topics: a cross-agency job, in the system scope."""
    with system_scope():
        return await _rebuild(pool, bootstrap)


async def _rebuild(pool: asyncpg.Pool, bootstrap: str) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    applied = skipped = 0
    try:
        # aiokafka has no public call for "partitions of a topic I have not subscribed to"
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, p)
            for topic in (cloudevents.topic_for(s) for s in SERVICES)
            for p in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        for tp, offset in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, offset)
        remaining = {tp for tp in partitions if end[tp] > 0}
        async with pool.acquire() as conn, conn.transaction():
            # Waits for writers projecting inline to commit, then makes the next ones leave their
            # events to the consumer, which catches up after this transaction.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", read_models.REBUILD_LOCK)
            # DELETE, not TRUNCATE: the service's role may not truncate (TRUNCATE ignores row-level
            # security); in the system scope DELETE reaches every agency's rows.
            for table in TABLES:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute("DELETE FROM inbox WHERE consumer = $1", GROUP_ID)
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= end[tp]:
                            continue
                        if await _apply(conn, record):
                            applied += 1
                        else:
                            skipped += 1
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    log.info("read models rebuilt", applied=applied, skipped=skipped)
    return {"applied": applied, "skipped": skipped}


async def _apply(conn: asyncpg.Connection, record: Any) -> bool:
    try:
        received = cloudevents.decode(record.topic, record.partition, record.offset, record.value, record.headers)
    except PoisonRecord:
        return False  # the live consumer dead-lettered it too
    inserted = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        GROUP_ID,
        received.event_id,
    )
    if not inserted:
        return False
    await timeline.apply(received, conn)
    await caseload.apply(received, conn)
    await overview.apply(received, conn)
    return True


def main() -> None:
    from shared.db import create_pool
    from shared.settings import load_settings

    async def run() -> None:
        cfg = load_settings("monitoring")
        pool = await create_pool(cfg.dsn, min_size=1, max_size=2)
        try:
            print(await rebuild(pool, cfg.kafka_bootstrap_servers))
        finally:
            await pool.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
