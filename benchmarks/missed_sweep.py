"""Benchmark: many schedules, a burst of deadlines in one minute, how late is each CheckInMissed?

    python -m benchmarks.missed_sweep --schedules 1000000 --due 100000

Seeds a fresh monitoring database with ``--schedules`` participant-monitor streams (the two events
a started, scheduled participant has) and their due rows; ``--due`` of them run out spread over
``--window-s`` seconds, the rest days later. The deadlines lie in 2030: the schedulers run on a
clock shifted so that 2030 starts a few seconds after the sweep starts, so the whole pipeline
(sweep workers -> events + outbox -> relay -> Kafka) runs in real time against those deadlines.
A consumer on ``waypoint.monitoring.v1`` measures, per CheckInMissed, the Kafka record time minus
the window's deadline (due + grace). Per-sweep timings show what one batch costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks.common import endpoints, fresh_monitoring_database, summary
from services.monitoring.application.scheduler import MISSED_CHECK_INS, sweep_once
from shared import catalogue  # noqa: F401
from shared.cloudevents import topic_for
from shared.outbox import OutboxRelay
from shared.runtime import ensure_topics
from shared.settings import ServiceSettings
from shared.tenancy import system_scope

V0 = datetime(2030, 1, 1, tzinfo=UTC)
INTERVAL, GRACE = "P1D", "PT1H"
AGENCY = "agency-bench"
EVENT_COLUMNS = (
    "stream_id", "stream_type", "stream_version", "event_id", "event_type", "schema_version",
    "agency_id", "participant_id", "occurred_at", "data", "metadata",
)  # fmt: skip


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def seed(pool: asyncpg.Pool, dsn: str, schedules: int, due: int, window_s: float, chunk: int = 50_000) -> float:
    """Insert the streams and due rows with COPY; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(7)
    meta = orjson.dumps({"correlation_id": "bench-seed", "causation_id": None, "actor": "bench"}).decode()
    set_at = V0 - timedelta(days=1)
    for offset in range(0, schedules, chunk):
        events: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        for i in range(offset, min(offset + chunk, schedules)):
            pid = uuid.UUID(int=(0xBE << 120) + i)
            if i < due:
                deadline = V0 + timedelta(seconds=window_s * i / due)
            else:
                deadline = V0 + timedelta(days=1 + rng.random() * 5)
            next_due = deadline - timedelta(hours=1)
            sid = f"monitor-{pid}"
            started_data = (
                f'{{"participant_id":"{pid}","specialist_id":"crs-{i % 50}","recovery_start_date":null,'
                f'"started_at":"{_iso(set_at)}"}}'
            )
            schedule_data = (
                f'{{"participant_id":"{pid}","interval":"{INTERVAL}","grace":"{GRACE}","basis":"custom",'
                f'"risk_level":"moderate","next_due_at":"{_iso(next_due)}","set_at":"{_iso(set_at)}"}}'
            )
            events.append(
                (
                    sid,
                    "participant-monitor",
                    1,
                    uuid.uuid4(),
                    "MonitoringStarted",
                    1,
                    AGENCY,
                    pid,
                    set_at,
                    started_data,
                    meta,
                )
            )
            events.append(
                (
                    sid,
                    "participant-monitor",
                    2,
                    uuid.uuid4(),
                    "CheckInScheduleSet",
                    1,
                    AGENCY,
                    pid,
                    set_at,
                    schedule_data,
                    meta,
                )
            )
            rows.append((pid, AGENCY, True, deadline, None))
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "monitored_participants",
                records=rows,
                columns=("participant_id", "agency_id", "active", "check_in_deadline", "milestone_due_at"),
            )
        print(f"  seeded {min(offset + chunk, schedules):>9,} / {schedules:,}", flush=True)
    # VACUUM cannot run in a transaction, and the pool's connections put every statement in one
    # (they set the agency scope for row-level security): a plain connection of its own.
    maintenance = await asyncpg.connect(dsn)
    try:
        await maintenance.execute("VACUUM ANALYZE events")
        await maintenance.execute("VACUUM ANALYZE monitored_participants")
    finally:
        await maintenance.close()
    return time.perf_counter() - started


async def explain_claim(pool: asyncpg.Pool, at: datetime, batch: int) -> list[str]:
    async with pool.acquire() as conn, conn.transaction():
        plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + MISSED_CHECK_INS.claim_sql, at, batch)
        return [r[0] for r in plan]


async def idle_claim_ms(pool: asyncpg.Pool, at: datetime, repeat: int = 200) -> float:
    """Average time of a sweep query that finds nothing due (the cost of polling)."""
    async with pool.acquire() as conn:
        started = time.perf_counter()
        for _ in range(repeat):
            async with conn.transaction():
                await conn.fetch(MISSED_CHECK_INS.claim_sql, at, 500)
        return (time.perf_counter() - started) / repeat * 1000


def _replica(dsn: str, bootstrap: str, shift_s: float, args: argparse.Namespace) -> None:
    async def main() -> None:
        from shared.db import create_pool

        pool = await create_pool(dsn, min_size=2, max_size=8)
        shift = timedelta(seconds=shift_s)
        relay = OutboxRelay(pool, dsn, bootstrap, "monitoring", batch_size=args.relay_batch, poll_interval=0.1)

        async def worker() -> None:
            while True:
                claimed, _ = await sweep_once(pool, MISSED_CHECK_INS, datetime.now(UTC) - shift, args.batch)
                if claimed < args.batch:
                    await asyncio.sleep(args.idle_poll_s)

        await asyncio.gather(relay.run(), *(worker() for _ in range(args.workers)))

    with system_scope():  # as the service's sweeps run: every agency's rows
        asyncio.run(main())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server, bootstrap = endpoints()
    pool, dsn = await fresh_monitoring_database(server, "bench_sweep")
    print(
        f"database {dsn.rsplit('/', 1)[1]}: seeding {args.schedules:,} schedules, {args.due:,} due in {args.window_s}s"
    )
    seed_s = await seed(pool, dsn, args.schedules, args.due, args.window_s)
    plan = await explain_claim(pool, V0 + timedelta(seconds=args.window_s / 2), args.batch)
    idle_ms = await idle_claim_ms(pool, V0 - timedelta(seconds=1))

    await ensure_topics(ServiceSettings(service="monitoring", kafka_bootstrap_servers=bootstrap))
    topic = topic_for("monitoring")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    cluster = await consumer._client.fetch_all_metadata()
    tps = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
    consumer.assign(tps)
    for tp, end in (await consumer.end_offsets(tps)).items():
        consumer.seek(tp, end)

    lead_s = 5.0
    shift = datetime.now(UTC) + timedelta(seconds=lead_s) - V0  # virtual = real - shift

    def virtual_now() -> datetime:
        return datetime.now(UTC) - shift

    relay = OutboxRelay(pool, dsn, bootstrap, "monitoring", batch_size=args.relay_batch, poll_interval=0.1)
    sweeps: list[tuple[float, int]] = []

    async def worker() -> None:
        while True:
            t0 = time.perf_counter()
            claimed, _ = await sweep_once(pool, MISSED_CHECK_INS, virtual_now(), args.batch)
            if claimed:
                sweeps.append((time.perf_counter() - t0, claimed))
            if claimed < args.batch:
                await asyncio.sleep(args.idle_poll_s)

    tasks = [asyncio.create_task(relay.run())] + [asyncio.create_task(worker()) for _ in range(args.workers)]
    # Extra replicas: separate processes with their own sweep workers and relay (one relay leads,
    # elected by the advisory lock), as several monitoring replicas would run.
    ctx = multiprocessing.get_context("spawn")
    replicas = [
        ctx.Process(target=_replica, args=(dsn, bootstrap, shift.total_seconds(), args), daemon=True)
        for _ in range(args.replicas - 1)
    ]
    for r in replicas:
        r.start()
    lateness: list[float] = []
    seen: set[str] = set()
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + lead_s + args.window_s + args.timeout_s
        while len(seen) < args.due and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for r in records:
                    headers = dict(r.headers or ())
                    if not headers.get("ce_type", b"").endswith(b".CheckInMissed.v1"):
                        continue
                    data = orjson.loads(r.value)
                    key = f"{data['participant_id']}|{data['due_at']}"
                    if key in seen:
                        raise AssertionError(f"window published twice: {key}")
                    seen.add(key)
                    published = datetime.fromtimestamp(r.timestamp / 1000, UTC) - shift
                    lateness.append((published - datetime.fromisoformat(data["deadline"])).total_seconds())
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in replicas:
            r.terminate()
        await consumer.stop()
    elapsed = time.perf_counter() - started
    remaining_due = await pool.fetchval(
        "SELECT count(*) FROM monitored_participants WHERE check_in_deadline <= $1",
        V0 + timedelta(seconds=args.window_s),
    )
    await pool.close()
    full = [d for d, n in sweeps if n == args.batch]
    busy_s = sum(d for d, _ in sweeps)
    result = {
        "schedules": args.schedules,
        "due": args.due,
        "window_s": args.window_s,
        "workers": args.workers,
        "replicas": args.replicas,
        "batch": args.batch,
        "seed_s": round(seed_s, 1),
        "published": len(seen),
        "due_rows_left": remaining_due,
        "run_s": round(elapsed, 1),
        "lateness_s": {k: round(v, 3) for k, v in summary(lateness).items()},
        "within_30s": sum(1 for x in lateness if x <= 30.0),
        "sweep_batches": len(sweeps),
        "sweep_batch_ms": {k: round(v * 1000, 1) for k, v in summary([d for d, _ in sweeps]).items() if k != "n"},
        "full_batches": len(full),
        "full_batch_ms": {k: round(v * 1000, 1) for k, v in summary(full).items() if k != "n"},
        "sweep_rows_per_busy_s": round(sum(n for _, n in sweeps) / busy_s) if busy_s else None,
        "idle_poll_ms": round(idle_ms, 3),
        "claim_plan": plan,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--replicas", type=int, default=1, help="scheduler processes (each with --workers)")
    parser.add_argument("--relay-batch", type=int, default=2000)
    parser.add_argument("--idle-poll-s", type=float, default=0.25)
    parser.add_argument("--timeout-s", type=float, default=180.0)
    parser.add_argument("--out", help="write the result as JSON to this file")
    args = parser.parse_args()
    with system_scope():  # the benchmark inspects every agency's rows, as the service's sweeps do
        result = asyncio.run(run(args))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
