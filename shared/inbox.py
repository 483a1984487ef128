"""Idempotent Kafka consumers: effects and inbox row in one transaction, offsets committed after.

Each batch of records is handled in one PostgreSQL transaction, each record inside its own
savepoint: the record's id goes into ``inbox`` (consumer, event_id) and, only if it was not there
yet, the handler runs. A redelivered record therefore changes nothing. Offsets are committed to
Kafka only after the transaction committed, so a crash in between means redelivery, never loss.

A consumer may also give a batch handler (read models that can apply many events at once):
one inbox insert for the batch, one handler call with the events not seen before; if that fails
for a reason that is not transient, the batch is processed record by record to isolate the bad one.

Records that can never succeed (undecodable, unknown type or version, invalid data, a domain rule
that rejects them) go to the service's dead-letter topic with the reason and their origin in
headers, and the consumer moves on. Transient failures (database or broker unavailable, a
serialization conflict) roll the batch back and retry it with backoff, skipping nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from pydantic import ValidationError

from shared import cloudevents
from shared.cloudevents import PoisonRecord, ReceivedEvent
from shared.domain import DomainError
from shared.events import UnknownEventType, parse_type
from shared.eventstore.base import ConcurrencyError, EventStore
from shared.outbox import producer_for
from shared.uow import UnitOfWork, caused_by

log = structlog.get_logger(__name__)

Handler = Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]]
#: Optional fast path for read models: applies a whole batch of events not seen before.
BatchHandler = Callable[[asyncpg.Connection, list[ReceivedEvent]], Awaitable[None]]

CONSUMED = Counter("waypoint_events_consumed_total", "Events handled by a consumer", ["consumer"])
DUPLICATES = Counter("waypoint_events_duplicate_total", "Redelivered events skipped", ["consumer"])
DEAD_LETTERED = Counter("waypoint_events_dead_lettered_total", "Records sent to the DLQ", ["consumer"])
SKIPPED = Counter("waypoint_events_skipped_total", "Records of types a consumer does not handle", ["consumer"])
RETRIES = Counter("waypoint_consumer_retries_total", "Batches retried after a failure", ["consumer"])

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    ConnectionError,
    KafkaError,
    ConcurrencyError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.TooManyConnectionsError,
)
#: Header of a record sent again from a dead-letter topic: the group id of the consumer it is for.
REDRIVE_HEADER = "waypoint_redrive_for"

PERMANENT: tuple[type[BaseException], ...] = (PoisonRecord, DomainError, ValidationError)


def dlq_topic(service: str) -> str:
    """The dead-letter topic of a consuming service."""
    return f"waypoint.{service}.dlq"


class _GiveUp(Exception):
    """Internal: this record failed too often with an unexpected error."""


class EventConsumer:
    """One consumer group reading ``topics`` and calling ``handler`` once per new event."""

    def __init__(
        self,
        *,
        name: str,
        service: str,
        topics: Sequence[str],
        handler: Handler,
        pool: asyncpg.Pool,
        store: EventStore,
        bootstrap: str,
        batch_size: int = 500,
        max_attempts: int = 5,
        batch_handler: BatchHandler | None = None,
        event_types: Collection[str] | None = None,
    ) -> None:
        self.name = name
        self.group_id = f"waypoint.{service}.{name}"
        self._service = service
        self._topics = list(topics)
        self.topics = tuple(topics)
        self._handler = handler
        self._pool = pool
        self._store = store
        self._bootstrap = bootstrap
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._batch_handler = batch_handler
        self._event_types = frozenset(event_types) if event_types is not None else None
        self._failures: dict[tuple[str, int, int], int] = {}
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled; reconnects after broker outages."""
        backoff = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                bootstrap_servers=self._bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self._batch_size,
                fetch_max_wait_ms=100,
            )
            dlq = producer_for(self._bootstrap)
            try:
                await consumer.start()
                await dlq.start()
                self.started.set()
                backoff = 0.5
                await self._loop(consumer, dlq)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer interrupted", consumer=self.group_id, error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await asyncio.shield(_stop_quietly(consumer, dlq))

    async def _loop(self, consumer: AIOKafkaConsumer, dlq: Any) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            records = [r for tp_records in batches.values() for r in tp_records]
            if not records:
                continue
            await self._process_with_retry(records, dlq)
            offsets = {
                TopicPartition(tp.topic, tp.partition): recs[-1].offset + 1 for tp, recs in batches.items()
            }
            await consumer.commit(offsets)

    async def _process_with_retry(self, records: list[ConsumerRecord], dlq: Any) -> None:
        backoff = 0.1
        while True:
            try:
                dead = await self._process(records)
                for record, reason in dead:
                    await self._dead_letter(dlq, record, reason)
                for record in records:  # settled: forget their failure counts
                    self._failures.pop((record.topic, record.partition, record.offset), None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RETRIES.labels(self.group_id).inc()
                log.warning("batch failed, retrying", consumer=self.group_id, error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _process(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        records = [r for r in records if self._for_me(r)]
        if self._event_types is not None:
            records = [r for r in records if self._wanted(r)]
        if not records:
            return []
        if self._batch_handler is not None:
            try:
                return await self._process_batch(records, self._batch_handler)
            except TRANSIENT:
                raise
            except Exception as exc:  # isolate the culprit record by record, then dead-letter it
                log.warning("batch path failed, processing record by record", consumer=self.group_id,
                            error=repr(exc))
        return await self._process_each(records)

    async def _process_batch(
        self, records: list[ConsumerRecord], apply: BatchHandler
    ) -> list[tuple[ConsumerRecord, str]]:
        """One transaction, one inbox insert and one handler call for the whole batch.

        The inbox insert goes first, on the ``ce_id`` header alone: a record already seen (a
        redelivery, or an event its own service projected inline and recorded in this inbox)
        costs no decoding. A record without a readable id is decoded, and so dead-lettered.
        """
        dead: list[tuple[ConsumerRecord, str]] = []
        ids = [cloudevents.event_id_of(r.headers) for r in records]
        async with self._pool.acquire() as conn, conn.transaction():
            new_ids = {
                r["event_id"]
                for r in await conn.fetch(
                    "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
                    " RETURNING event_id",
                    self.group_id,
                    list({i for i in ids if i is not None}),
                )
            }
            fresh: list[ReceivedEvent] = []
            for record, event_id in zip(records, ids, strict=True):
                if event_id is not None and event_id not in new_ids:
                    continue  # seen before, or twice in this batch: once
                new_ids.discard(event_id)
                try:
                    fresh.append(
                        cloudevents.decode(record.topic, record.partition, record.offset, record.value, record.headers)
                    )
                except PoisonRecord as exc:
                    dead.append((record, str(exc)))
            if fresh:
                await apply(conn, fresh)
        CONSUMED.labels(self.group_id).inc(len(fresh))
        DUPLICATES.labels(self.group_id).inc(len(records) - len(fresh) - len(dead))
        return dead

    async def _process_each(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        dead: list[tuple[ConsumerRecord, str]] = []
        async with self._pool.acquire() as conn, conn.transaction():
            for record in records:
                try:
                    received = cloudevents.decode(
                        record.topic, record.partition, record.offset, record.value, record.headers
                    )
                except PoisonRecord as exc:
                    dead.append((record, str(exc)))
                    continue
                try:
                    async with conn.transaction():  # savepoint: a rejected record undoes only itself
                        await self._handle(conn, received)
                except PERMANENT as exc:
                    dead.append((record, f"{type(exc).__name__}: {exc}"))
                except TRANSIENT:
                    raise
                except Exception as exc:
                    if self._count_failure(record) >= self._max_attempts:
                        dead.append((record, f"gave up after {self._max_attempts} attempts: {exc!r}"))
                    else:
                        raise
        return dead

    async def _handle(self, conn: asyncpg.Connection, received: ReceivedEvent) -> None:
        inserted = await conn.fetchval(
            "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            self.group_id,
            received.event_id,
        )
        if not inserted:
            DUPLICATES.labels(self.group_id).inc()
            return
        uow = UnitOfWork(conn=conn, store=self._store, service=self._service, metadata=caused_by(received))
        await self._handler(received, uow)
        CONSUMED.labels(self.group_id).inc()

    def _wanted(self, record: ConsumerRecord) -> bool:
        """False for a well-typed record of a type this consumer does not handle: it costs no
        decoding and no database work. A record without a readable type is decoded (and, if it
        is poison, dead-lettered) as usual."""
        assert self._event_types is not None
        for key, value in record.headers or ():
            if key == "ce_type":
                try:
                    _, name, _ = parse_type(value.decode())
                except (UnknownEventType, UnicodeDecodeError):
                    return True
                if name in self._event_types:
                    return True
                SKIPPED.labels(self.group_id).inc()
                return False
        return True

    def _for_me(self, record: ConsumerRecord) -> bool:
        """A record redriven from a dead-letter topic (``waypoint dlq redrive``) is for the
        consumer group that failed it only; the others already handled it."""
        for key, value in record.headers or ():
            if key == REDRIVE_HEADER:
                if value.decode(errors="replace") == self.group_id:
                    return True
                SKIPPED.labels(self.group_id).inc()
                return False
        return True

    def _count_failure(self, record: ConsumerRecord) -> int:
        key = (record.topic, record.partition, record.offset)
        self._failures[key] = self._failures.get(key, 0) + 1
        return self._failures[key]

    async def _dead_letter(self, dlq: Any, record: ConsumerRecord, reason: str) -> None:
        DEAD_LETTERED.labels(self.group_id).inc()
        log.error(
            "record dead-lettered",
            consumer=self.group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
        )
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        fut = await dlq.send(dlq_topic(self._service), record.value, key=record.key, headers=headers)
        await fut


async def _stop_quietly(consumer: AIOKafkaConsumer, producer: Any) -> None:
    for client in (consumer, producer):
        try:
            await client.stop()
        except Exception:  # stopping a client that never started
            pass
