"""Transactional outbox: rows written with the events, a relay that ships them to Kafka.

Writers never talk to Kafka. :func:`enqueue` adds the serialized records in the caller's
transaction; the :class:`OutboxRelay` (one active per service, elected with a PostgreSQL advisory
lock) sends them in id order with an idempotent producer (acks=all) and deletes them only after the
broker acknowledged. If Kafka is down, rows simply wait: events are delayed, never lost.

A row Kafka refuses for good (too large for the broker, an invalid record) is moved to
``outbox_quarantine`` with the reason, counted (``waypoint_outbox_quarantined_total``, and the
gauge ``waypoint_outbox_quarantined_rows``) and logged; the rows behind it keep flowing. The
leader reads and deletes its rows on its lock connection, so every batch proves that connection
alive, and steps down when it is gone (the session lock went with it, and another relay may hold it
now); the relay also never waits behind the service's requests for a pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import zlib
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidMessageError,
    InvalidTimestampError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from prometheus_client import Counter, Gauge

from shared import cloudevents, faults
from shared.envelope import NewEvent
from shared.polling import Backoff, PollingWorker

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "waypoint_outbox"
#: A statement on the relay's lock connection that takes longer means the connection is lost.
LOCK_QUERY_TIMEOUT_S = 15.0
T = TypeVar("T")
RELAYED = Counter("waypoint_outbox_relayed_total", "Events relayed from the outbox to Kafka", ["service"])
BACKLOG = Gauge("waypoint_outbox_backlog", "Outbox rows seen waiting at the last poll", ["service"])
RELAY_ERRORS = Counter("waypoint_outbox_errors_total", "Relay attempts that failed", ["service"])
QUARANTINED = Counter(
    "waypoint_outbox_quarantined_total", "Outbox rows Kafka refused for good, moved to quarantine", ["service"]
)
QUARANTINE_SIZE = Gauge("waypoint_outbox_quarantined_rows", "Rows in outbox_quarantine now", ["service"])
STEP_DOWNS = Counter(
    "waypoint_outbox_leadership_lost_total", "Relays that stepped down because their lock connection was gone",
    ["service"],
)

#: Errors that say "this record can never be accepted": its row is quarantined, the rest flow.
REFUSED: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidMessageError,
    CorruptRecordException,
    InvalidTimestampError,
)


class LeadershipLost(Exception):
    """The relay's lock connection is gone: it is no longer the leader."""

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
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._pool = pool
        #: security options of the producer (ServiceSettings.kafka_client_options: SASL)
        self._client_options = client_options or {}
        self._dsn = dsn
        self._bootstrap = bootstrap
        self._service = service
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"waypoint-outbox-{service}".encode())
        self.is_leader = False
        #: PostgreSQL backend pid of the connection holding the lock while leader (for operators).
        self.lock_backend_pid: int | None = None

    async def run(self) -> None:
        """Wait for leadership, then relay until cancelled; survives Kafka and DB outages."""
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying through any outage; rows stay in the outbox
                RELAY_ERRORS.labels(self._service).inc()
                log.warning("outbox relay interrupted", error=repr(exc), retry_in=backoff.next)
                self.is_leader = False
                await backoff.sleep()
            else:
                backoff.reset()

    async def _lead(self) -> None:
        # A dedicated connection holds the advisory lock for as long as this relay is leader,
        # and receives the NOTIFY wake-ups.
        conn = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                await asyncio.sleep(1.0)
            self.is_leader = True
            self.lock_backend_pid = conn.get_server_pid()
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            await self._count_quarantine()
            producer = producer_for(self._bootstrap, **self._client_options)
            await producer.start()


            async def step() -> int:
                return await self.relay_once(producer, conn)

            # Any failure ends this leadership (producer and lock connection closed); run() backs
            # off and competes for the lock again.
            worker = PollingWorker(f"outbox.{self._service}", step, interval=self._poll_interval,
                                   full_batch=self._batch_size, wake=self._wake, stop_on=(Exception,))
            try:
                await worker.run()
            finally:
                await producer.stop()
        finally:
            self.is_leader = False
            self.lock_backend_pid = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    async def _as_leader(self, conn: asyncpg.Connection, statement: Awaitable[T]) -> T:
        """Run a statement on the lock connection; if that connection is gone (closed, broken, or
        silent for ``LOCK_QUERY_TIMEOUT_S``) the session lock went with it: raise
        :class:`LeadershipLost` (the relay steps down and competes for the lock again)."""
        try:
            if conn.is_closed():
                raise LeadershipLost("lock connection closed")
            return await asyncio.wait_for(statement, LOCK_QUERY_TIMEOUT_S)
        except LeadershipLost:
            raise
        except (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            STEP_DOWNS.labels(self._service).inc()
            log.error("outbox relay lost its lock connection; stepping down", service=self._service,
                      error=repr(exc))
            raise LeadershipLost(repr(exc)) from exc
        finally:
            if inspect.iscoroutine(statement) and inspect.getcoroutinestate(statement) == inspect.CORO_CREATED:
                statement.close()  # never started (the connection was closed): no "never awaited" warning

    async def relay_once(self, producer: AIOKafkaProducer, conn: asyncpg.Connection) -> int:
        """Send one batch of outbox rows and delete them once acknowledged; returns the count.

        The rows are read and deleted on the lock connection (``conn``), not a pooled one: the
        relay never queues for a connection behind the service's requests, and every statement
        also proves the lock's session alive, so nothing is sent or deleted by a relay that may
        have lost its leadership."""
        rows = await self._as_leader(conn, conn.fetch(
            "SELECT id, topic, record_key, value, headers::text AS headers FROM outbox ORDER BY id LIMIT $1",
            self._batch_size,
        ))
        BACKLOG.labels(self._service).set(len(rows))
        if not rows:
            return 0
        sent: list[tuple[asyncpg.Record, asyncio.Future[Any]]] = []
        refused: dict[int, str] = {}
        for row in rows:
            headers = [(k, v.encode()) for k, v in orjson.loads(row["headers"])]
            key = row["record_key"].encode() if row["record_key"] is not None else None
            try:
                sent.append((row, await producer.send(row["topic"], row["value"], key=key, headers=headers)))
            except REFUSED as exc:
                refused[row["id"]] = f"{type(exc).__name__}: {exc}"
        # The idempotent producer keeps per-partition order across its own retries; any other
        # failure leaves every row in place and the whole batch is sent again (consumers dedupe).
        results = await asyncio.gather(*(f for _, f in sent), return_exceptions=True)
        failure: BaseException | None = None
        acked: list[int] = []
        for (row, _), result in zip(sent, results, strict=True):
            if isinstance(result, REFUSED):
                refused[row["id"]] = f"{type(result).__name__}: {result}"
            elif isinstance(result, BaseException):
                failure = failure or result
            else:
                acked.append(row["id"])
        if refused:
            await self._quarantine(refused)
        if failure is not None:
            raise failure
        faults.point("outbox.after_send_before_delete")
        await self._as_leader(conn, conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", acked))
        RELAYED.labels(self._service).inc(len(acked))
        return len(rows)

    async def _quarantine(self, refused: dict[int, str]) -> None:
        """Move rows Kafka refused for good out of the outbox, with their reasons."""
        async with self._pool.acquire() as conn, conn.transaction():
            moved = await conn.fetch(
                """
                WITH refused AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(id, reason)),
                moved AS (DELETE FROM outbox o USING refused WHERE o.id = refused.id RETURNING o.*, refused.reason)
                INSERT INTO outbox_quarantine (id, event_id, topic, record_key, value, headers, created_at, reason)
                SELECT id, event_id, topic, record_key, value, headers, created_at, reason FROM moved
                ON CONFLICT (id) DO NOTHING
                RETURNING id, event_id, topic, reason
                """,
                list(refused),
                list(refused.values()),
            )
        for row in moved:
            log.error("outbox row refused by Kafka, quarantined", service=self._service, outbox_id=row["id"],
                      event_id=str(row["event_id"]), topic=row["topic"], reason=row["reason"])
        QUARANTINED.labels(self._service).inc(len(moved))
        await self._count_quarantine()

    async def _count_quarantine(self) -> None:
        with contextlib.suppress(asyncpg.UndefinedTableError):
            count = await self._pool.fetchval("SELECT count(*) FROM outbox_quarantine")
            QUARANTINE_SIZE.labels(self._service).set(count)
