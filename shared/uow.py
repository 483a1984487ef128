"""Unit of work: one PostgreSQL transaction holding the appended events, their outbox rows and
any inline projection rows, so either all of it happens or none of it does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from shared import faults, idempotency, outbox
from shared.domain import Aggregate
from shared.envelope import Metadata, NewEvent, StoredEvent
from shared.events import DomainEvent
from shared.eventstore.base import EventStore

S = TypeVar("S")


@dataclass
class UnitOfWork:
    """What a command or event handler works with. ``conn`` is inside an open transaction."""

    conn: asyncpg.Connection
    store: EventStore
    service: str
    metadata: Metadata
    appended: list[StoredEvent] = field(default_factory=list)

    async def load(self, aggregate: Aggregate[S], stream_id: str) -> tuple[S, int]:
        """The current state of ``stream_id`` and its version (0 if it has no events)."""
        events = await self.store.read_stream(stream_id, conn=self.conn)
        state = aggregate.fold(e.event for e in events)
        return state, (events[-1].stream_version if events else 0)

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
        when = occurred_at or datetime.now(UTC)
        new = [
            NewEvent(
                stream_id=stream_id,
                stream_type=stream_type,
                agency_id=agency_id,
                participant_id=participant_id,
                event=e,
                metadata=self.metadata,
                occurred_at=when,
            )
            for e in events
        ]
        stored = await self.store.append(new, expected_version=expected_version, conn=self.conn)
        await outbox.enqueue(self.conn, self.service, [n for n in new if not type(n.event).private])
        self.appended.extend(stored)
        return stored

    async def execute(
        self,
        aggregate: Aggregate[S],
        stream_id: str,
        decide: Callable[[S, int], Sequence[DomainEvent]],
        *,
        agency_id: str,
        participant_id: UUID | None,
    ) -> tuple[S, list[StoredEvent]]:
        """Load, decide, append: the whole command cycle. Returns the new state and the events.

        ``decide`` receives the current state and version and returns the new events (or raises a
        DomainError). A concurrent writer makes the append fail with ConcurrencyError.
        """
        state, version = await self.load(aggregate, stream_id)
        events = list(decide(state, version))
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
    pool: asyncpg.Pool, store: EventStore, service: str, metadata: Metadata
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit if the block succeeds, roll back if it raises."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            yield UnitOfWork(conn=conn, store=store, service=service, metadata=metadata)
            await idempotency.mark_committed(conn)  # an Idempotency-Key's effects commit with these
        faults.point("uow.after_commit")  # fault tests: committed, nothing sent to Kafka yet


def caused_by(received: Any, actor: str | None = None) -> Metadata:
    """Metadata for events caused by a received event: same correlation, causation = its id."""
    return Metadata(
        correlation_id=received.correlation_id, causation_id=str(received.event_id), actor=actor
    )
