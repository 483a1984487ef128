"""Rebuild benchmark: monitoring's read models rebuilt from Kafka, beside the raw floor.

Side by side, on the same topics and the same PostgreSQL:

- **raw**: a plain aiokafka consumer reads every partition from its beginning to its end and
  ``COPY``s the same rows the rebuild ends with, taken from the headers without decoding or
  validating the event: a timeline row per record (ids, type, time, the value as JSONB), an inbox
  row per record, and a caseload row per participant, into copies of those tables with the same
  indexes, in one transaction: the least writing those rows could cost;
- **rebuild**: :func:`services.monitoring.projections.rebuild.rebuild`, what ``waypoint rebuild
  monitoring`` runs: decodes and validates each event, dedupes through the inbox, and fills the
  timeline, caseload, open alerts and daily counts.

The topics are made for the run (``bench.rebuild.<tag>.intake`` / ``.monitoring``, 6 partitions):
per participant a ``ParticipantEnrolled``, a ``MonitoringStarted``, a ``CheckInScheduleSet``, then
check-ins (``CheckInCompleted``, one in ten ``CheckInMissed``). Run with ``python -m benchmarks
rebuild [--events N] [--participants P]`` (``make bench-rebuild``: 1,000,000 events).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

import shared.catalogue  # noqa: F401  (registers every event type)
from benchmarks.common import create_topics
from shared import cloudevents
from shared.catalogue.intake import ParticipantEnrolled
from shared.catalogue.monitoring import CheckInCompleted, CheckInMissed, CheckInScheduleSet, MonitoringStarted
from shared.db import create_pool, ensure_database, migrate_async
from shared.envelope import Metadata, NewEvent
from shared.settings import database_for

PARTITIONS = 6


def _templates(pid: uuid.UUID, agency: str, at: datetime) -> dict[str, list[tuple[bytes, list]]]:
    """Encoded records of one participant, by service (their ce_id is replaced per record)."""
    meta = Metadata(correlation_id=str(uuid.uuid4()))

    def enc(event: Any, service: str) -> tuple[bytes, list]:
        new = NewEvent(stream_id=f"s-{pid}", stream_type="s", agency_id=agency, participant_id=pid, event=event,
                       metadata=meta)
        _, value, headers = cloudevents.encode(new, service)
        return value, headers

    return {
        "intake": [enc(ParticipantEnrolled(participant_id=pid, specialist_id="s-1", enrolled_at=at), "intake")],
        "start": [
            enc(MonitoringStarted(participant_id=pid, specialist_id="s-1", started_at=at), "monitoring"),
            enc(CheckInScheduleSet(participant_id=pid, interval=timedelta(days=1), grace=timedelta(hours=6),
                                   basis="risk_default", next_due_at=at + timedelta(days=1), set_at=at), "monitoring"),
        ],
        "check_in": [enc(CheckInCompleted(participant_id=pid, check_in_id=uuid.uuid4(), craving=3, mood=6,
                                          used_since_last_check_in=False, completed_at=at,
                                          next_due_at=at + timedelta(days=1)), "monitoring")],
        "missed": [enc(CheckInMissed(participant_id=pid, due_at=at, deadline=at + timedelta(hours=6),
                                     consecutive_misses=1, detected_at=at + timedelta(hours=6)), "monitoring")],
    }


def _with_id(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    fresh = str(uuid.uuid4()).encode()
    return [(k, fresh if k == "ce_id" else v) for k, v in headers]


async def produce(bootstrap: str, topics: dict[str, str], events: int, participants: int) -> int:
    """Write ``events`` records over ``participants`` participants; returns how many were written."""
    await create_topics(bootstrap, list(topics.values()), PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    written = 0
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    people = [(uuid.uuid4(), f"agency-{i % 20}") for i in range(participants)]
    templates = {pid: _templates(pid, agency, at) for pid, agency in people}
    pending: list[Any] = []

    async def send(service_topic: str, pid: uuid.UUID, record: tuple[bytes, list]) -> None:
        nonlocal written
        value, headers = record
        pending.append(await producer.send(service_topic, value, key=str(pid).encode(), headers=_with_id(headers)))
        written += 1
        if len(pending) >= 20000:
            await asyncio.gather(*pending)
            pending.clear()

    try:
        for pid, _ in people:  # everyone enrolled and monitored first, as in real life
            if written >= events:
                break
            await send(topics["intake"], pid, templates[pid]["intake"][0])
            for record in templates[pid]["start"]:
                await send(topics["monitoring"], pid, record)
        n = 0
        while written < events:
            pid = people[n % participants][0]
            kind = "missed" if n % 10 == 9 else "check_in"
            await send(topics["monitoring"], pid, templates[pid][kind][0])
            n += 1
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return written


async def raw_copy(pool: asyncpg.Pool, bootstrap: str, topics: list[str]) -> int:
    """The floor: consume every record and COPY a timeline-shaped row for each, in one transaction."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    copied = 0
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        for tp, offset in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, offset)
        remaining = {tp for tp in partitions if end[tp] > 0}
        participants: dict[uuid.UUID, str] = {}
        async with pool.acquire() as conn, conn.transaction():
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
                rows = []
                for tp, records in batches.items():
                    for r in records:
                        if r.offset >= end[tp]:
                            continue
                        h = {k: v.decode() for k, v in r.headers}
                        rows.append((uuid.UUID(h["ce_subject"]), h["ce_agencyid"], uuid.UUID(h["ce_id"]),
                                     h["ce_type"], h["ce_source"], datetime.fromisoformat(h["ce_time"]),
                                     h["ce_type"], r.value.decode()))
                if rows:
                    await conn.copy_records_to_table(
                        "raw_timeline", records=rows,
                        columns=["participant_id", "agency_id", "event_id", "event_type", "source", "occurred_at",
                                 "summary", "data"])
                    await conn.copy_records_to_table("raw_inbox", records=[("raw", row[2]) for row in rows],
                                                     columns=["consumer", "event_id"])
                    participants.update((row[0], row[1]) for row in rows)
                    copied += len(rows)
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
            await conn.copy_records_to_table("raw_caseload", records=list(participants.items()),
                                             columns=["participant_id", "agency_id"])
    finally:
        await consumer.stop()
    return copied


async def run(database_url: str, bootstrap: str, *, events: int = 1_000_000, participants: int = 10_000) -> dict:
    from services.monitoring.entrypoints.app import MIGRATIONS
    from services.monitoring.projections.rebuild import rebuild

    tag = uuid.uuid4().hex[:8]
    topics = {"intake": f"bench.rebuild.{tag}.intake", "monitoring": f"bench.rebuild.{tag}.monitoring"}
    t0 = time.perf_counter()
    written = await produce(bootstrap, topics, events, participants)
    produce_s = time.perf_counter() - t0
    print(f"produced {written} events in {produce_s:.1f}s", flush=True)

    name = f"bench_rebuild_{tag}"
    await ensure_database(database_url, name)
    dsn = database_for(database_url, name)
    await migrate_async(dsn, MIGRATIONS)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        for table in ("timeline", "inbox", "caseload"):
            await pool.execute(f"CREATE TABLE raw_{table} (LIKE {table} INCLUDING ALL)")
        t0 = time.perf_counter()
        copied = await raw_copy(pool, bootstrap, list(topics.values()))
        raw_s = time.perf_counter() - t0
        print(f"raw consume + COPY: {copied} rows in {raw_s:.1f}s ({copied / raw_s:,.0f}/s)", flush=True)

        t0 = time.perf_counter()
        result = await rebuild(pool, bootstrap, topics=list(topics.values()))
        rebuild_s = time.perf_counter() - t0
        timeline_rows = await pool.fetchval("SELECT count(*) FROM timeline")
        caseload_rows = await pool.fetchval("SELECT count(*) FROM caseload")
        print(f"rebuild: {result} in {rebuild_s:.1f}s ({written / rebuild_s:,.0f}/s)", flush=True)
    finally:
        await pool.close()
        conn = await asyncpg.connect(database_url)
        with contextlib.suppress(Exception):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        with contextlib.suppress(Exception):
            await admin.delete_topics(list(topics.values()))
        await admin.close()
    raw_rate, rebuild_rate = copied / raw_s, written / rebuild_s
    return {
        "events": written,
        "participants": participants,
        "produce_s": round(produce_s, 1),
        "raw_consume_copy_s": round(raw_s, 1),
        "raw_events_per_s": round(raw_rate),
        "rebuild_s": round(rebuild_s, 1),
        "rebuild_events_per_s": round(rebuild_rate),
        "rebuild_vs_raw": round(rebuild_rate / raw_rate, 2),
        "rebuild_applied": result["applied"],
        "timeline_rows": timeline_rows,
        "caseload_rows": caseload_rows,
    }
