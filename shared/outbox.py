"""Transactional outbox: rows written with the events, a relay that ships them to Kafka.

Writers never talk to Kafka. :func:`enqueue` adds the serialized records in the caller's
transaction; the :class:`OutboxRelay` (one active per service, elected with a PostgreSQL advisory
lock) sends them in id order with an idempotent producer (acks=all) and deletes them only after the
broker acknowledged. If Kafka is down, rows simply wait: events are delayed, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge

from shared import cloudevents
from shared.envelope import NewEvent

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "waypoint_outbox"
RELAYED = Counter("waypoint_outbox_relayed_total", "Events relayed from the outbox to Kafka", ["service"])
BACKLOG = Gauge("waypoint_outbox_backlog", "Outbox rows seen waiting at the last poll", ["service"])
RELAY_ERRORS = Counter("waypoint_outbox_errors_total", "Relay attempts that failed", ["service"])

# The insert and the relay's wake-up in one round trip. NOTIFY is delivered at commit, and
# PostgreSQL coalesces identical notifications within a transaction.
_INSERT = f"""
WITH written AS (
    INSERT INTO outbox (event_id, topic, record_key, value, headers)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[]::jsonb[])
    RETURNING 1
)
SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM (SELECT 1 FROM written LIMIT 1) AS any_row
"""


async def enqueue(conn: asyncpg.Connection, service: str, events: Sequence[NewEvent]) -> None:
    """Write ``events`` to the outbox inside the caller's transaction, and wake the relay."""
    if not events:
        return
    encoded = [cloudevents.encode(e, service) for e in events]
    await conn.execute(
        _INSERT,
        [e.event_id for e in events],
        [cloudevents.topic_for(service)] * len(events),
        [key for key, _, _ in encoded],
        [value for _, value, _ in encoded],
        [orjson.dumps([[k, v.decode()] for k, v in headers]).decode() for _, _, headers in encoded],
    )


def producer_for(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates on retry."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 15000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class OutboxRelay:
    """Ships outbox rows to Kafka in order. Start with :meth:`run` as a background task."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        bootstrap: str,
        service: str,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._bootstrap = bootstrap
        self._service = service
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"waypoint-outbox-{service}".encode())
        self.is_leader = False

    async def run(self) -> None:
        """Wait for leadership, then relay until cancelled; survives Kafka and DB outages."""
        backoff = 0.2
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying through any outage; rows stay in the outbox
                RELAY_ERRORS.labels(self._service).inc()
                log.warning("outbox relay interrupted", error=repr(exc), retry_in=backoff)
                self.is_leader = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.2

    async def _lead(self) -> None:
        # A dedicated connection holds the advisory lock for as long as this relay is leader,
        # and receives the NOTIFY wake-ups.
        conn = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                await asyncio.sleep(1.0)
            self.is_leader = True
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            producer = producer_for(self._bootstrap)
            await producer.start()
            try:
                while True:
                    sent = await self.relay_once(producer)
                    if sent < self._batch_size:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            finally:
                await producer.stop()
        finally:
            self.is_leader = False
            await conn.close()

    async def relay_once(self, producer: AIOKafkaProducer) -> int:
        """Send one batch of outbox rows and delete them once acknowledged; returns the count."""
        rows = await self._pool.fetch(
            "SELECT id, topic, record_key, value, headers::text AS headers FROM outbox ORDER BY id LIMIT $1",
            self._batch_size,
        )
        BACKLOG.labels(self._service).set(len(rows))
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in orjson.loads(row["headers"])]
            key = row["record_key"].encode() if row["record_key"] is not None else None
            futures.append(await producer.send(row["topic"], row["value"], key=key, headers=headers))
        # The idempotent producer keeps per-partition order across its own retries; a failure
        # here leaves every row in place and the whole batch is sent again (consumers dedupe).
        await asyncio.gather(*futures)
        await self._pool.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        RELAYED.labels(self._service).inc(len(rows))
        return len(rows)
