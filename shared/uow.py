"""Unit of work: one transaction holding the appended events, their outbox records and any inline
projection rows, so either all of it happens or none of it does.

A command handler has one shape in every service, ``async def handle(command, uow) -> result``:
the unit of work carries who asked (``metadata.actor``, ``agency_id``) and when (``now``, read once
from the runtime's clock), and gives access to the streams (through a
:class:`shared.streams.StreamRepository`) and, on PostgreSQL, to the connection for the service's
own tables. :func:`unit_of_work` opens one on PostgreSQL; :mod:`shared.memory` has the in-memory
one for unit tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
import orjson

from shared import faults, idempotency, outbox
from shared.clock import Clock, system_clock
from shared.domain import Aggregate
from shared.envelope import Metadata, NewEvent, StoredEvent
from shared.events import DomainEvent
from shared.eventstore.base import EventStore

S = TypeVar("S")


@dataclass(frozen=True)
class OutboxRecord:
    """One record waiting to be sent: the Kafka topic, key, value and headers, in send order."""

    id: int
    topic: str
    key: str | None
    value: bytes
    headers: list[tuple[str, bytes]]


class Outbox(Protocol):
    """Where a unit of work leaves the public events for the relay to send."""

    async def add(self, events: Sequence[NewEvent]) -> None:
        """Record ``events`` (in order) to be sent, inside the unit of work's transaction."""
        ...

    async def pending(self, limit: int) -> list[OutboxRecord]:
        """The oldest ``limit`` records not yet sent, in the order they were added."""
        ...

    async def remove(self, ids: Sequence[int]) -> None:
        """Forget records the broker acknowledged."""
        ...


@dataclass(frozen=True)
class PostgresOutbox:
    """The ``outbox`` table, through a connection (the unit of work's) or a pool."""

    conn: Any
    service: str

    async def add(self, events: Sequence[NewEvent]) -> None:
        await outbox.enqueue(self.conn, self.service, events)

    async def pending(self, limit: int) -> list[OutboxRecord]:
        rows = await self.conn.fetch(
            "SELECT id, topic, record_key, value, headers::text AS headers FROM outbox ORDER BY id LIMIT $1", limit
        )
        return [
            OutboxRecord(r["id"], r["topic"], r["record_key"], bytes(r["value"]),
                         [(k, v.encode()) for k, v in orjson.loads(r["headers"])])
            for r in rows
        ]

    async def remove(self, ids: Sequence[int]) -> None:
        await self.conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", list(ids))


class BeforeCommit:
    """Work that the units of work sharing one transaction leave for its end, merged and run once.

    A consumer handles a batch of records in one transaction, one unit of work per record. Work
    that touches rows other transactions share (a service's read models) would then lock those
    rows record by record, in the order the records came, while another writer locks them in its
    own order: PostgreSQL finds a deadlock and one of the two is retried. Deferred here instead,
    the work runs once at the end with everything the batch gathered, so its locks are taken in
    the order the work chooses (sorted), like every other writer's. ``None`` on a unit of work
    (commands, sweeps, anything that is one unit per transaction) means: do it now.
    """

    def __init__(self) -> None:
        self._work: dict[Hashable, tuple[Callable[[list[Any]], Awaitable[None]], list[Any]]] = {}

    def add(self, key: Hashable, run: Callable[[list[Any]], Awaitable[None]], items: Sequence[Any]) -> None:
        """Gather ``items`` for ``run``, called once with all the items gathered under ``key``."""
        _, gathered = self._work.setdefault(key, (run, []))
        gathered.extend(items)

    async def run(self) -> None:
        """Run the gathered work (in the order the keys were first added); call before committing."""
        while self._work:
            key = next(iter(self._work))
            run, items = self._work.pop(key)
            await run(items)


@dataclass
class UnitOfWork:
    """What a command or event handler works with.

    ``conn`` is the asyncpg connection inside the open transaction (``None`` in memory);
    ``agency_id`` is the caller's agency for a command from a person (``None`` for a consumer,
    whose events carry their own); ``now`` is the instant the unit of work began; ``tables`` is
    what the service's handlers read and write besides streams (built by the service's
    ``tables`` factory from ``conn``; an in-memory fake in unit tests).
    """

    conn: Any
    store: EventStore
    service: str
    metadata: Metadata
    #: everything appended in this unit of work (stored, or as appended to several streams at once)
    appended: list[StoredEvent | NewEvent] = field(default_factory=list)
    outbox: Outbox | None = None
    agency_id: str | None = None
    clock: Clock = system_clock
    #: the service's own tables for this unit of work (its adapter over ``conn``, or a fake)
    tables: Any = None
    #: the service's key ring (shared.keyring.KeyRing): seals a participant's text before it is
    #: written; ``None`` in memory
    keys: Any = None
    #: shared by the units of work of one consumer batch (see :class:`BeforeCommit`); None: now
    before_commit: BeforeCommit | None = None
    now: datetime = field(init=False)

    def __post_init__(self) -> None:
        if self.outbox is None:
            self.outbox = PostgresOutbox(self.conn, self.service)
        self.now = self.clock()

    @property
    def actor(self) -> str | None:
        """Who caused this unit of work (a person's ``sub``, or a service's process name)."""
        return self.metadata.actor

    @property
    def caller_agency(self) -> str:
        """The caller's agency; a command from a person always has one."""
        if self.agency_id is None:
            raise RuntimeError("this unit of work has no caller agency (a consumer's?)")
        return self.agency_id

    async def load(self, aggregate: Aggregate[S], stream_id: str) -> tuple[S, int]:
        """The current state of ``stream_id`` and its version (0 if it has no events)."""
        events = await self.store.read_stream(stream_id, conn=self.conn)
        state = aggregate.fold(e.event for e in events)
        return state, (events[-1].stream_version if events else 0)

    def new_events(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[DomainEvent],
        *,
        agency_id: str,
        participant_id: UUID | None,
        occurred_at: datetime | None = None,
        metadata: Metadata | None = None,
    ) -> list[NewEvent]:
        """``events`` wrapped for one stream, with this unit of work's metadata and time unless given."""
        when = occurred_at or self.now
        return [
            NewEvent(
                stream_id=stream_id,
                stream_type=stream_type,
                agency_id=agency_id,
                participant_id=participant_id,
                event=e,
                metadata=metadata or self.metadata,
                occurred_at=when,
            )
            for e in events
        ]

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[DomainEvent],
        *,
        expected_version: int,
        agency_id: str,
        participant_id: UUID | None,
        occurred_at: datetime | None = None,
    ) -> list[StoredEvent]:
        """Append ``events`` to a stream, and the public ones to the outbox, in this transaction."""
        if not events:
            return []
        new = self.new_events(stream_id, stream_type, events, agency_id=agency_id, participant_id=participant_id,
                              occurred_at=occurred_at)
        stored = await self.store.append(new, expected_version=expected_version, conn=self.conn)
        assert self.outbox is not None
        await self.outbox.add([n for n in new if not type(n.event).private])
        self.appended.extend(stored)
        return stored

    async def append_many(self, groups: Sequence[tuple[Sequence[NewEvent], int]]) -> None:
        """Append (events of one stream, its expected version) groups in one statement, and the
        public events to the outbox, in this transaction; all or nothing (ConcurrencyError)."""
        if not groups:
            return
        await self.store.append_streams(groups, conn=self.conn)
        new = [e for events, _ in groups for e in events]
        assert self.outbox is not None
        await self.outbox.add([n for n in new if not type(n.event).private])
        self.appended.extend(new)

    async def execute(
        self,
        aggregate: Aggregate[S],
        stream_id: str,
        decide: Callable[[S], Sequence[DomainEvent]],
        *,
        agency_id: str,
        participant_id: UUID | None,
    ) -> tuple[S, list[StoredEvent]]:
        """Load, decide, append: the whole command cycle. Returns the new state and the events.

        ``decide`` receives the current state and returns the new events (or raises a
        DomainError). A concurrent writer makes the append fail with ConcurrencyError.
        """
        state, version = await self.load(aggregate, stream_id)
        events = list(decide(state))
        stored = await self.append(
            stream_id,
            aggregate.stream_type,
            events,
            expected_version=version,
            agency_id=agency_id,
            participant_id=participant_id,
        )
        return aggregate.fold(events, state), stored


@contextlib.asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool,
    store: EventStore,
    service: str,
    metadata: Metadata,
    *,
    agency_id: str | None = None,
    clock: Clock = system_clock,
    tables: Callable[[Any], Any] | None = None,
    keys: Any = None,
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit if the block succeeds, roll back if it raises."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            yield UnitOfWork(conn=conn, store=store, service=service, metadata=metadata, agency_id=agency_id,
                             clock=clock, tables=tables(conn) if tables else None, keys=keys)
            await idempotency.mark_committed(conn)  # an Idempotency-Key's effects commit with these
        faults.point("uow.after_commit")  # fault tests: committed, nothing sent to Kafka yet


def caused_by(received: Any, actor: str | None = None) -> Metadata:
    """Metadata for events caused by a received event: same correlation, causation = its id."""
    return Metadata(
        correlation_id=received.correlation_id, causation_id=str(received.event_id), actor=actor
    )
