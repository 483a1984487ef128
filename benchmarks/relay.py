"""Outbox relay throughput: committed outbox rows to Kafka acknowledgement, events per second.

Rows are committed first (in transactions of 500, as a busy service would), then one relay drains
them; the figure is rows / (time from relay start until the outbox is empty, i.e. every row was
acknowledged by the broker with acks=all and deleted). A second figure runs writers and the relay
at the same time and reports the sustained end-to-end rate.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import shared.catalogue  # noqa: F401
from benchmarks.common import create_topics
from shared.catalogue.intake import ParticipantEnrolled
from shared.cloudevents import topic_for
from shared.envelope import Metadata, NewEvent
from shared.outbox import OutboxRelay, enqueue
from shared.testing.db import fresh_kernel_database


def _events(n: int) -> list[NewEvent]:
    out = []
    for _ in range(n):
        pid = uuid.uuid4()
        out.append(NewEvent(
            stream_id=f"participant-{pid}", stream_type="participant", agency_id="agency-bench", participant_id=pid,
            event=ParticipantEnrolled(participant_id=pid, specialist_id="specialist-1", enrolled_at=datetime.now(UTC)),
            metadata=Metadata(correlation_id=str(uuid.uuid4())),
        ))
    return out


async def _fill(pool, total: int, batch: int = 500) -> None:
    for _ in range(total // batch):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, "bench", _events(batch))


async def _drain_rate(pool, dsn: str, bootstrap: str, total: int) -> float:
    relay = OutboxRelay(pool, dsn, bootstrap, "bench", batch_size=5000, poll_interval=0.05)
    t0 = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        while await pool.fetchval("SELECT count(*) FROM outbox") > 0:
            await asyncio.sleep(0.02)
        return total / (time.perf_counter() - t0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)



async def run(database_url: str, bootstrap: str, *, total: int = 50_000) -> dict:
    await create_topics(bootstrap, [topic_for("bench")])
    pool, dsn = await fresh_kernel_database(database_url, "bench_relay")
    try:
        await _fill(pool, 2000)
        await _drain_rate(pool, dsn, bootstrap, 2000)  # warm-up: topic metadata, producer, caches
        await _fill(pool, total)
        drain = await _drain_rate(pool, dsn, bootstrap, total)

        relay = OutboxRelay(pool, dsn, bootstrap, "bench", batch_size=5000, poll_interval=0.05)
        task = asyncio.create_task(relay.run())
        t0 = time.perf_counter()
        await asyncio.gather(*(_fill(pool, total // 4) for _ in range(4)))
        while await pool.fetchval("SELECT count(*) FROM outbox") > 0:
            await asyncio.sleep(0.02)
        concurrent = total / (time.perf_counter() - t0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return {"events": total, "drain_per_s": round(drain), "write_and_relay_per_s": round(concurrent)}
    finally:
        await pool.close()
