"""Idempotent Kafka consumers: effects and inbox row in one transaction, offsets committed after.

Each batch of records is handled in one PostgreSQL transaction: the records' ids go into ``inbox``
(consumer, event_id) and, only for an id that was not there yet, the handler runs. A redelivered
record therefore changes nothing. The batch first runs without savepoints; if a handler fails for
a reason that is not transient, it is rolled back and run again with each record in its own
savepoint, so that only the record at fault is dead-lettered. Offsets are committed to
Kafka only after the transaction committed, so a crash in between means redelivery, never loss;
they are committed in the background while the next batch is fetched and handled
(:class:`OffsetCommitter`).

A consumer may also give a batch handler (read models that can apply many events at once):
one inbox insert for the batch, one handler call with the events not seen before; if that fails
for a reason that is not transient, the batch is processed record by record to isolate the bad one.

Records that can never succeed (undecodable, unknown type or version, invalid data, a domain rule
that rejects them) go to the service's dead-letter topic with the reason and their origin in
headers, and the consumer moves on. A dead record is settled in this order: the batch's
transaction commits without it (no inbox row, no effect); it is sent to the DLQ and Kafka
acknowledges; then a ``dead_letters`` row (consumer, topic, partition, offset, ce_id, reason) is
written; then the offsets are committed. A DLQ send that fails is retried (the record is found
again, nothing else is redone); a crash before the acknowledgement sends it once on redelivery; a
redelivery after the ``dead_letters`` row finds it and sends nothing. Only a crash between the
acknowledgement and that row can send it twice, and both copies carry the same ``dlq_id`` header.
No inbox row is written for a dead record: a good copy of the same event is still handled, and a
redrive (the record published again) needs nothing deleted first.

Transient failures (database or broker unavailable or busy: connection lost, query cancelled, lock
not available, cannot connect now, disk full, out of memory, a serialization conflict; see
:func:`shared.db.is_transient_database_error`) roll the batch back and retry it with backoff,
skipping nothing and dead-lettering nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from pydantic import ValidationError

from shared import cloudevents, faults
from shared.cloudevents import PoisonRecord, ReceivedEvent
from shared.db import is_transient_database_error
from shared.domain import DomainError
from shared.events import UnknownEventType, parse_type
from shared.eventstore.base import ConcurrencyError, EventStore
from shared.outbox import producer_for
from shared.polling import Backoff
from shared.uow import BeforeCommit, UnitOfWork, caused_by

log = structlog.get_logger(__name__)

Handler = Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]]
#: Optional fast path for read models: applies a whole batch of events not seen before.
BatchHandler = Callable[[asyncpg.Connection, list[ReceivedEvent]], Awaitable[None]]
#: Optional: runs in a batch's transaction before its handlers, with the events not seen before
#: (to lock, in one order, the rows the handlers will lock one event at a time).
BatchPrelude = Callable[[asyncpg.Connection, list[ReceivedEvent]], Awaitable[None]]

CONSUMED = Counter("waypoint_events_consumed_total", "Events handled by a consumer", ["consumer"])
DUPLICATES = Counter("waypoint_events_duplicate_total", "Redelivered events skipped", ["consumer"])
DEAD_LETTERED = Counter("waypoint_events_dead_lettered_total", "Records sent to the DLQ", ["consumer"])
DEAD_LETTER_REPEATS = Counter(
    "waypoint_events_dead_letter_repeats_total", "Redelivered dead records found already dead-lettered", ["consumer"]
)
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

def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying the batch for (never a reason to dead-letter)."""
    return isinstance(exc, TRANSIENT) or is_transient_database_error(exc)


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
        client_options: dict[str, Any] | None = None,
        before_batch: BatchPrelude | None = None,
    ) -> None:
        self.name = name
        self._before_batch = before_batch
        #: security options of its consumer and DLQ producer (ServiceSettings.kafka_client_options: SASL)
        self._client_options = client_options or {}
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
        backoff = Backoff(first=0.5, cap=10.0)
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                bootstrap_servers=self._bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self._batch_size,
                fetch_max_wait_ms=100,
                **self._client_options,
            )
            dlq = producer_for(self._bootstrap, **self._client_options)
            committer = OffsetCommitter(consumer, self.group_id)
            try:
                await consumer.start()
                await dlq.start()
                self.started.set()
                backoff.reset()
                await self._loop(consumer, dlq, committer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer interrupted", consumer=self.group_id, error=repr(exc), retry_in=backoff.next)
                await backoff.sleep()
            finally:
                await asyncio.shield(committer.close())
                await asyncio.shield(_stop_quietly(consumer, dlq))

    async def _loop(self, consumer: AIOKafkaConsumer, dlq: Any, committer: OffsetCommitter) -> None:
        committer.start()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            committer.check()
            records = [r for tp_records in batches.values() for r in tp_records]
            if not records:
                continue
            await self._process_with_retry(records, dlq)
            faults.point("inbox.after_commit_before_offsets")
            committer.add({tp: recs[-1].offset + 1 for tp, recs in batches.items()})

    async def _process_with_retry(self, records: list[ConsumerRecord], dlq: Any) -> None:
        backoff = Backoff(first=0.1, cap=10.0)
        while True:
            try:
                dead = await self._process(records)
                if dead:
                    await self._dead_letter(dlq, dead)
                for record in records:  # settled: forget their failure counts
                    self._failures.pop((record.topic, record.partition, record.offset), None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RETRIES.labels(self.group_id).inc()
                log.warning("batch failed, retrying", consumer=self.group_id, error=repr(exc),
                            retry_in=backoff.next)
                await backoff.sleep()

    async def _process(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        records = [r for r in records if self._for_me(r)]
        if self._event_types is not None:
            records = [r for r in records if self._wanted(r)]
        if not records:
            return []
        if self._batch_handler is not None:
            try:
                return await self._process_batch(records, self._batch_handler)
            except Exception as exc:  # isolate the culprit record by record, then dead-letter it
                if is_transient(exc):
                    raise
                log.warning("batch path failed, processing record by record", consumer=self.group_id,
                            error=repr(exc))
        return await self._process_each(records)

    async def _claim(self, conn: asyncpg.Connection, event_ids: set[UUID]) -> set[UUID]:
        """Insert the inbox rows of these events; the ids not seen before (in this transaction)."""
        rows = await conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
            " RETURNING event_id",
            self.group_id,
            sorted(event_ids),  # one order for every inserter: unique-index waits cannot form a cycle
        )
        return {r["event_id"] for r in rows}

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
            new_ids = await self._claim(conn, {i for i in ids if i is not None})
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
                    if event_id is not None:
                        new_ids.add(event_id)  # a good copy later in the batch is still handled
            if dead:  # a dead record leaves no inbox row (see the module docstring)
                handled = {e.event_id for e in fresh}
                await conn.execute(
                    "DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                    self.group_id,
                    [i for r, _ in dead if (i := cloudevents.event_id_of(r.headers)) not in (None, *handled)],
                )
            if fresh:
                await apply(conn, fresh)
        CONSUMED.labels(self.group_id).inc(len(fresh))
        DUPLICATES.labels(self.group_id).inc(len(records) - len(fresh) - len(dead))
        return dead

    async def _process_each(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        """The whole batch in one transaction without savepoints (the common case: every handler
        succeeds), with one inbox insert; if a handler fails for a reason that is not transient,
        that transaction is rolled back and the batch is done again record by record, each in a
        savepoint, so that only the culprit is dead-lettered."""
        if len(records) > 1:
            try:
                return await self._process_together(records)
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.info("batch failed, isolating its records", consumer=self.group_id, error=repr(exc))
        return await self._process_isolated(records)

    async def _process_together(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        dead: list[tuple[ConsumerRecord, str]] = []
        decoded: list[ReceivedEvent] = []
        for record in records:
            try:
                decoded.append(
                    cloudevents.decode(record.topic, record.partition, record.offset, record.value, record.headers)
                )
            except PoisonRecord as exc:  # no inbox row, as on the isolated path
                dead.append((record, str(exc)))
        handled = 0
        deferred = BeforeCommit()  # the handlers' shared-row work, once for the batch, last
        async with self._pool.acquire() as conn, conn.transaction():
            new_ids = await self._claim(conn, {e.event_id for e in decoded})
            fresh: list[ReceivedEvent] = []
            for received in decoded:
                if received.event_id in new_ids:  # not seen before; twice in this batch: once
                    new_ids.discard(received.event_id)
                    fresh.append(received)
            if self._before_batch is not None and fresh:
                await self._before_batch(conn, fresh)
            for received in fresh:
                uow = UnitOfWork(conn=conn, store=self._store, service=self._service, metadata=caused_by(received),
                                 before_commit=deferred)
                await self._handler(received, uow)
                handled += 1
            await deferred.run()
        CONSUMED.labels(self.group_id).inc(handled)
        DUPLICATES.labels(self.group_id).inc(len(decoded) - handled)
        return dead

    async def _process_isolated(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
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
                except Exception as exc:
                    if is_transient(exc):
                        raise
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

    async def _dead_letter(self, dlq: Any, dead: list[tuple[ConsumerRecord, str]]) -> None:
        """Send dead records to the DLQ once each: skip those already recorded, wait for Kafka's
        acknowledgement, then write their ``dead_letters`` rows."""
        positions = [(r.topic, r.partition, r.offset) for r, _ in dead]
        already = {
            (r["topic"], r["partition"], r["offset"])
            for r in await self._pool.fetch(
                'SELECT topic, "partition", "offset" FROM dead_letters WHERE consumer = $1 AND (topic, "partition",'
                ' "offset") IN (SELECT * FROM unnest($2::text[], $3::int[], $4::bigint[]))',
                self.group_id,
                *(list(column) for column in zip(*positions, strict=True)),
            )
        }
        if already:
            DEAD_LETTER_REPEATS.labels(self.group_id).inc(len(already))
        todo = [(r, reason) for r, reason in dead if (r.topic, r.partition, r.offset) not in already]
        if not todo:
            return
        faults.point("inbox.before_dlq_send")
        futures = [await self._send_dead(dlq, record, reason) for record, reason in todo]
        await asyncio.gather(*futures)
        faults.point("inbox.after_dlq_send")
        await self._pool.executemany(
            'INSERT INTO dead_letters (consumer, topic, "partition", "offset", event_id, dlq_topic, reason)'
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [
                (self.group_id, r.topic, r.partition, r.offset, cloudevents.event_id_of(r.headers),
                 dlq_topic(self._service), reason[:2000])
                for r, reason in todo
            ],
        )
        DEAD_LETTERED.labels(self.group_id).inc(len(todo))

    async def _send_dead(self, dlq: Any, record: ConsumerRecord, reason: str) -> Any:
        dlq_id = f"{self.group_id}/{record.topic}/{record.partition}/{record.offset}"
        log.error(
            "record dead-lettered",
            consumer=self.group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dlq_id=dlq_id,
            reason=reason,
        )
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_id", dlq_id.encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        return await dlq.send(dlq_topic(self._service), record.value, key=record.key, headers=headers)


class OffsetCommitter:
    """Commits a consumer's processed offsets to Kafka in the background, so that the next batch
    is fetched and handled while the last one's offsets are on their way.

    An OffsetCommit is a round trip to the group coordinator, which also holds it for its append
    linger: about 6 ms on the benchmark's broker, four times a batch's inbox transaction. Waiting
    for it before the next fetch made it the largest part of the consumer's latency (docs/
    benchmarks.md, Kafka path). Committing later loses nothing: the offsets are only ever those of
    batches whose transaction has committed, and a crash before they reach Kafka means
    redelivery, which the inbox turns into no effect.

    One commit is in flight at a time; offsets that arrive meanwhile are merged (the newest per
    partition) and go in the next, so commits never overtake each other. A failed commit (the
    group rebalanced, the coordinator is gone) ends the consumer's session at its next batch, as
    a failed commit in the loop always did, and the consumer starts over from the last committed
    offsets. Stopping commits what is pending, best effort."""

    def __init__(self, consumer: AIOKafkaConsumer, group_id: str) -> None:
        self._consumer = consumer
        self._group_id = group_id
        self._pending: dict[TopicPartition, int] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._group_id}-offsets")

    def add(self, offsets: dict[TopicPartition, int]) -> None:
        """Offsets (next to read, per partition) of a batch whose transaction has committed."""
        self.check()
        self._pending.update((TopicPartition(tp.topic, tp.partition), o) for tp, o in offsets.items())
        self._wake.set()

    def check(self) -> None:
        """Raise the background commit's failure, if it failed."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._commit_pending()

    async def _commit_pending(self) -> None:
        async with self._lock:
            offsets, self._pending = self._pending, {}
            assigned = self._consumer.assignment()  # a partition taken away meanwhile: its new owner
            offsets = {tp: o for tp, o in offsets.items() if tp in assigned}  # reads from the last commit
            if offsets:
                await self._consumer.commit(offsets)

    async def close(self) -> None:
        """Stop the background task and commit what is pending (best effort: a redelivery is harmless)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pending:
            try:
                await asyncio.wait_for(self._commit_pending(), 5)
            except Exception as exc:
                log.info("pending offsets not committed at stop", consumer=self._group_id, error=repr(exc))


async def _stop_quietly(consumer: AIOKafkaConsumer, producer: Any) -> None:
    for client in (consumer, producer):
        try:
            await client.stop()
        except Exception:  # stopping a client that never started
            pass
