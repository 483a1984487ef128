"""Benchmark: the kernel's Kafka path (outbox, relay, broker, idempotent consumer) against raw
aiokafka, on the same broker at the same rate in the same run.

    python -m benchmarks.kafka_path --rate 500 --duration 30

- **kernel path**: a writer commits one event per transaction into the outbox (``enqueue``, as a
  command's unit of work does) open-loop at ``--rate``; the kernel's :class:`OutboxRelay` ships the
  rows (woken by ``NOTIFY``, idempotent producer, acks=all, rows deleted once acknowledged); a
  kernel :class:`EventConsumer` in **another process** with its own database (as another service)
  handles each event in its inbox transaction. Latency: from the writer's commit returning until
  the consumer's transaction holding the event committed.
- **raw aiokafka**: a plain idempotent producer (acks=all, ``linger_ms=5``) and a plain consumer
  in one process, produce-to-consume, same rate, same partitions count: measured before and after
  the kernel path, and the ratio is taken against both runs' latencies together.

Kafka and PostgreSQL come from the environment or ``.waypoint/infra.env`` (``python -m benchmarks
kafkapath`` starts its own). Prints a JSON report and writes it to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.check_ins import raw_kafka
from benchmarks.common import create_topics, endpoints, summary
from shared import catalogue  # noqa: F401
from shared.catalogue.monitoring import CheckInCompleted
from shared.cloudevents import topic_for
from shared.envelope import Metadata, NewEvent
from shared.eventstore.postgres import PostgresEventStore
from shared.inbox import EventConsumer
from shared.outbox import OutboxRelay, enqueue
from shared.testing.db import fresh_kernel_database

PARTITIONS = 6


def _event() -> NewEvent:
    pid = uuid.uuid4()
    now = datetime.now(UTC)
    return NewEvent(
        stream_id=f"monitor-{pid}", stream_type="monitor", agency_id="agency-bench", participant_id=pid,
        event=CheckInCompleted(participant_id=pid, check_in_id=uuid.uuid4(), completed_at=now, craving=3, mood=3,
                                      used_since_last_check_in=False),
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )



# --- the consuming side (its own process, as another service would be) ---------------------------

async def consume(dsn_server: str, bootstrap: str, topic: str, expect: int, out: Path, ready: Path) -> None:
    pool, _ = await fresh_kernel_database(dsn_server, "bench_path_in")
    seen: dict[str, tuple[float, float]] = {}  # ce_id -> (produced, the consumer's commit)

    async def handler(received: Any, uow: Any) -> None:
        pass  # the inbox row is the effect: what every consumer pays

    consumer = EventConsumer(name=f"path-{uuid.uuid4().hex[:8]}", service="benchconsumer", topics=[topic],
                             handler=handler, pool=pool, store=PostgresEventStore(pool), bootstrap=bootstrap)
    original = consumer._process_with_retry

    async def timed(records: list[Any], dlq: Any) -> None:
        await original(records, dlq)
        committed = time.time()  # the batch's inbox transaction has committed
        for record in records:
            for key, value in record.headers or ():
                if key == "ce_id":
                    seen.setdefault(value.decode(), (record.timestamp / 1000, committed))

    consumer._process_with_retry = timed  # type: ignore[method-assign]
    task = asyncio.create_task(consumer.run())
    await consumer.started.wait()
    await asyncio.to_thread(ready.write_text, "0")
    try:
        while len(seen) < expect:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(ready.write_text, str(len(seen)))
            if task.done():
                task.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(out.write_text, json.dumps(seen))
        await pool.close()


# --- the writing side: writer + relay (one service) ----------------------------------------------

async def _write(pool: asyncpg.Pool, service: str, rate: float, count: int, committed: dict[str, float]) -> float:
    async def one() -> None:
        event = _event()
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, service, [event])
        committed[str(event.event_id)] = time.time()

    tasks = []
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return count / (time.monotonic() - start)


async def kernel_path(server_url: str, bootstrap: str, rate: float, duration: float, warmup: int) -> dict[str, Any]:
    service = f"benchpath{uuid.uuid4().hex[:8]}"  # a topic of its own for each run
    topic = topic_for(service)
    await create_topics(bootstrap, [topic], PARTITIONS)
    pool, dsn = await fresh_kernel_database(server_url, "bench_path_out")
    count = int(rate * duration)
    work = Path(tempfile.mkdtemp(prefix="waypoint-kafka-path-"))
    out, ready = work / "seen.json", work / "ready"
    reader = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.kafka_path", "--consume", "--server", server_url, "--bootstrap", bootstrap,
        "--topic", topic, "--expect", str(warmup + count), "--seen-out", str(out), "--ready-file", str(ready))
    relay = OutboxRelay(pool, dsn, bootstrap, service, poll_interval=0.5)  # woken by NOTIFY at each commit
    relay_task = asyncio.create_task(relay.run())
    try:
        while not ready.exists():
            if reader.returncode is not None:
                raise RuntimeError("the consumer process exited")
            await asyncio.sleep(0.2)
        committed: dict[str, float] = {}
        await _write(pool, service, rate, warmup, committed)  # warm-up: group join, metadata, caches
        while int((await asyncio.to_thread(ready.read_text)) or 0) < warmup:  # all consumed
            if reader.returncode is not None:
                raise RuntimeError("the consumer process exited")
            await asyncio.sleep(0.2)
        committed.clear()
        achieved = await _write(pool, service, rate, count, committed)
        await asyncio.wait_for(reader.wait(), 120)
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        if reader.returncode is None:
            reader.terminate()
            await reader.wait()
        await pool.close()
    seen: dict[str, list[float]] = json.loads(await asyncio.to_thread(out.read_text))
    mine = [(t, *seen[e]) for e, t in committed.items() if e in seen]
    return {"sent": count, "rate_per_s": round(achieved, 1), "received": len(mine),
            "latency_ms": _ms([done - at for at, _, done in mine]),
            # where the time goes: commit -> the relay's send (Kafka CreateTime), send -> consumer commit
            "commit_to_relay_send_ms": _ms([sent - at for at, sent, _ in mine]),
            "relay_send_to_consumer_commit_ms": _ms([done - sent for _, sent, done in mine])}


def _ms(values: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 2) if k != "n" else v for k, v in summary(values).items()}


async def run(rate: float, duration: float, warmup: int = 500, *, raw: bool = True) -> dict[str, Any]:
    server_url, bootstrap = endpoints()
    if not raw:
        return {"rate": rate, "duration_s": duration,
                "kernel_path": await kernel_path(server_url, bootstrap, rate, duration, warmup)}
    raw_before = await raw_kafka(bootstrap, rate, duration)
    path = await kernel_path(server_url, bootstrap, rate, duration, warmup)
    raw_after = await raw_kafka(bootstrap, rate, duration)
    raw_p99 = max(raw_before["latency_ms"]["p99"], raw_after["latency_ms"]["p99"])
    raw_p50 = max(raw_before["latency_ms"]["p50"], raw_after["latency_ms"]["p50"])
    return {
        "rate": rate, "duration_s": duration, "partitions": PARTITIONS,
        "kernel_path": path, "raw_aiokafka_before": raw_before, "raw_aiokafka_after": raw_after,
        "p99_ratio_kernel_vs_raw": round(path["latency_ms"]["p99"] / raw_p99, 2),
        "p50_ratio_kernel_vs_raw": round(path["latency_ms"]["p50"] / raw_p50, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-raw", action="store_true", help="the kernel path only (no ratio)")
    parser.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seen-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.consume:
        asyncio.run(consume(args.server, args.bootstrap, args.topic, args.expect, args.seen_out, args.ready_file))
        return
    report = asyncio.run(run(args.rate, args.duration, raw=not args.no_raw))
    text = json.dumps(report, indent=2)
    print(text, flush=True)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
