"""Group commit for check-ins: the check-ins that arrive while a transaction is being written go
together into the next one.

Check-ins are the hot path of the system (every participant, every day or more). Written one per
transaction, each costs a transaction of its own: a lock, a stream read, an append, an outbox row,
a due-row update and a commit, about six round trips and a WAL flush. The writer instead keeps a
queue. A writer task takes whatever is queued (up to ``max_batch``) and records it with
:func:`handlers.record_check_ins` in one transaction; check-ins arriving meanwhile wait for the
next one. Nothing waits on a timer: when the service is quiet a batch holds one check-in and the
latency is that of a single transaction; under load, batches grow and the cost per check-in falls.

Every caller gets its own answer. A check-in a rule refuses (participant unknown, discharged, ...)
gets its own error and does not affect the others. If the batch's transaction fails as a whole (a
lost connection, a concurrency conflict, a bug), each check-in of the batch is retried in its own
transaction through :func:`handlers.record_check_in`, so one bad order cannot fail its neighbours.
The HTTP response is sent only after the transaction that holds the check-in committed.

A check-in sent with an ``Idempotency-Key`` carries its key to the writer, and the transaction that
records it marks the key (shared/idempotency.py), exactly as a unit of work would: if the process
fails after that commit and before the response is recorded, a retry with the same key is never
recorded a second time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog
from prometheus_client import Histogram

from services.monitoring.adapters.tables import PostgresTables
from services.monitoring.application import handlers
from services.monitoring.application.handlers import CheckInOrder, CheckInRecorded
from shared import faults, idempotency
from shared.domain import DomainError
from shared.eventstore.base import EventStore
from shared.keyring import KeyRing
from shared.uow import UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "waypoint_monitoring_check_in_batch_size",
    "Check-ins written per transaction by the check-in writer",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
BATCH_SECONDS = Histogram(
    "waypoint_monitoring_check_in_batch_seconds",
    "Time to write one batch of check-ins, from taking a connection to commit",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)


@dataclass
class _Pending:
    order: CheckInOrder
    answer: asyncio.Future[CheckInRecorded]
    #: the request's Idempotency-Key, marked in the transaction that records the check-in
    key: idempotency.Key | None = None


class CheckInWriter:
    """Records check-ins submitted by concurrent requests in shared transactions."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        *,
        service: str = "monitoring",
        max_batch: int = 128,
        writers: int = 2,
        keys: KeyRing | None = None,
    ) -> None:
        self._pool = pool
        self._keys = keys  # seals the check-ins' private texts
        self._store = store
        self._service = service
        self._max_batch = max_batch
        self._writers = writers
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._stopped = False  # once run() ended, nothing would write what is submitted

    async def submit(self, order: CheckInOrder) -> CheckInRecorded:
        """Record one check-in; returns once it is committed, or raises the rule's DomainError."""
        if self._stopped:
            raise ConnectionError("the check-in writer has stopped")
        answer: asyncio.Future[CheckInRecorded] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(order, answer, idempotency.current()))
        return await answer

    async def run(self) -> None:
        """Run ``writers`` writer tasks until cancelled (two: one batch is collected while the
        other is in the database)."""
        tasks = [asyncio.create_task(self._write_batches()) for _ in range(self._writers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            self._stopped = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            while not self._queue.empty():  # shutting down: nobody will write these
                _settle(self._queue.get_nowait(), ConnectionError("monitoring is shutting down"))

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for pending in batch:
                    _settle(pending, ConnectionError("monitoring is shutting down"))
                raise
            except Exception as exc:  # never leave a caller waiting, never stop writing
                for pending in batch:
                    _settle(pending, exc)

    async def _write(self, batch: list[_Pending]) -> None:
        BATCH_SIZE.observe(len(batch))
        try:
            with BATCH_SECONDS.time():
                async with self._pool.acquire() as conn, conn.transaction():
                    results = await handlers.record_check_ins([p.order for p in batch], self._batch_uow(conn, batch))
                    await idempotency.mark_many_committed(
                        conn, [p.key for p, r in zip(batch, results, strict=True) if not isinstance(r, DomainError)])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            log.warning("check-in batch failed, writing its check-ins one by one", size=len(batch), error=repr(exc))
            await asyncio.gather(*(self._write_one(p) for p in batch))
            return
        faults.point("monitoring.check_ins.after_commit")  # fault tests: committed, nobody answered yet
        for pending, result in zip(batch, results, strict=True):
            _settle(pending, result)

    def _batch_uow(self, conn: asyncpg.Connection, batch: list[_Pending]) -> UnitOfWork:
        # Each order keeps its own caller and time (Decision.metadata/occurred_at); the batch's
        # due rows are computed at the latest of them.
        latest = max(p.order.now for p in batch)
        return UnitOfWork(conn=conn, store=self._store, service=self._service, metadata=batch[0].order.metadata,
                          clock=lambda: latest, tables=PostgresTables(conn, self._keys), keys=self._keys)

    async def _write_one(self, pending: _Pending) -> None:
        order = pending.order
        try:
            with idempotency.acting_for(pending.key):  # the unit of work marks the request's key
                async with unit_of_work(self._pool, self._store, self._service, order.metadata,
                                        agency_id=order.agency_id, clock=lambda: order.now,
                                        tables=lambda conn: PostgresTables(conn, self._keys),
                                        keys=self._keys) as uow:
                    result = await handlers.record_check_in(order.command(), uow)
        except Exception as exc:
            _settle(pending, exc)
        else:
            _settle(pending, result)


def _settle(pending: _Pending, result: CheckInRecorded | BaseException) -> None:
    if pending.answer.done():  # the caller went away (request cancelled)
        return
    if isinstance(result, BaseException):
        if not isinstance(result, DomainError):
            log.error("check-in not recorded", participant_id=str(pending.order.participant_id), error=repr(result))
        pending.answer.set_exception(result)
    else:
        pending.answer.set_result(result)
