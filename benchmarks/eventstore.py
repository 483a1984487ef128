"""Event store append throughput: Waypoint vs raw asyncpg vs the eventsourcing library.

Workload: one event per transaction, each on a new stream, at concurrency 1 and 32. All three
write rows of the same size into equivalent tables on the same server in the same run; runs are
interleaved and repeated so that machine noise hits all three alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

import shared.catalogue  # noqa: F401
from shared.catalogue.intake import ParticipantEnrolled
from shared.envelope import Metadata, NewEvent
from shared.eventstore import PostgresEventStore
from shared.testing.db import fresh_kernel_database

RAW_INSERT = """
INSERT INTO raw_events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,
                        agency_id, participant_id, occurred_at, data, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb)
"""


def _event() -> NewEvent:
    pid = uuid.uuid4()
    return NewEvent(
        stream_id=f"participant-{pid}", stream_type="participant", agency_id="agency-bench", participant_id=pid,
        event=ParticipantEnrolled(participant_id=pid, specialist_id="specialist-1", enrolled_at=datetime.now(UTC),
                                  primary_substances=("alcohol",), preferred_channel="sms"),
        metadata=Metadata(correlation_id=str(uuid.uuid4()), actor="bench"),
    )


async def _drive(concurrency: int, total: int, op) -> float:
    """Events per second for ``total`` calls of ``op`` spread over ``concurrency`` workers."""
    per_worker = total // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await op()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return per_worker * concurrency / (time.perf_counter() - t0)


async def waypoint_op_factory(pool):
    store = PostgresEventStore(pool)

    async def op() -> None:
        await store.append([_event()], expected_version=0)

    return op


async def raw_op_factory(pool):
    async def op() -> None:
        e = _event()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                RAW_INSERT, e.stream_id, e.stream_type, 1, e.event_id, e.event_type, e.schema_version,
                e.agency_id, e.participant_id, e.occurred_at,
                orjson.dumps(e.event.model_dump(mode="json")).decode(), orjson.dumps(e.metadata.as_dict()).decode(),
            )

    return op


def eventsourcing_recorder(dsn: str, pool_size: int):
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    u = urlsplit(dsn)
    datastore = PostgresDatastore(u.path.lstrip("/"), u.hostname or "127.0.0.1", u.port or 5432, u.username or "",
                                  u.password or "", pool_size=pool_size, max_overflow=0)
    recorder = PostgresApplicationRecorder(datastore, events_table_name="es_events")
    recorder.create_table()

    def op() -> None:
        e = _event()
        state = orjson.dumps(e.event.model_dump(mode="json"))
        recorder.insert_events([StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                                            topic="waypoint:ParticipantEnrolled", state=state)])

    return datastore, op


def _drive_threads(concurrency: int, total: int, op) -> float:
    per_worker = total // concurrency

    def worker() -> None:
        for _ in range(per_worker):
            op()

    with ThreadPoolExecutor(concurrency) as ex:
        t0 = time.perf_counter()
        list(ex.map(lambda _: worker(), range(concurrency)))
        return per_worker * concurrency / (time.perf_counter() - t0)


async def run(database_url: str, *, rounds: int = 3, total_c1: int = 1500, total_c32: int = 8000) -> list[dict]:
    pool, dsn = await fresh_kernel_database(database_url, "bench_store")
    await pool.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
    datastore, es_op = await asyncio.to_thread(eventsourcing_recorder, dsn, 32)
    wp = await waypoint_op_factory(pool)
    raw = await raw_op_factory(pool)
    results = []
    try:
        for concurrency, total in ((1, total_c1), (32, total_c32)):
            samples: dict[str, list[float]] = {"waypoint": [], "raw asyncpg": [], "eventsourcing": []}
            await _drive(concurrency, 200, wp)  # warm up statement caches and the pool
            await _drive(concurrency, 200, raw)
            for _ in range(rounds):
                samples["raw asyncpg"].append(await _drive(concurrency, total, raw))
                samples["waypoint"].append(await _drive(concurrency, total, wp))
                samples["eventsourcing"].append(await asyncio.to_thread(_drive_threads, concurrency, total, es_op))
            med = {k: statistics.median(v) for k, v in samples.items()}
            results.append({
                "concurrency": concurrency, "events": total, "rounds": rounds,
                "waypoint_per_s": round(med["waypoint"]), "raw_per_s": round(med["raw asyncpg"]),
                "eventsourcing_per_s": round(med["eventsourcing"]),
                "waypoint_vs_raw": round(med["waypoint"] / med["raw asyncpg"], 2),
                "waypoint_vs_eventsourcing": round(med["waypoint"] / med["eventsourcing"], 2),
            })
    finally:
        await pool.close()
        datastore.close()
    return results
