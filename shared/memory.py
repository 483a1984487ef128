"""In-memory fakes of the write side, for unit tests of command handlers (milliseconds each).

:class:`InMemoryOutbox` and :class:`InMemoryInbox` keep the same promises as the PostgreSQL
tables (the contract suites in ``tests/contract`` run on both); :class:`InMemoryUnitsOfWork`
opens units of work over one :class:`shared.eventstore.InMemoryEventStore` and one outbox, like
``Runtime.uow`` does over PostgreSQL::

    units = InMemoryUnitsOfWork("planning", clock=ManualClock(NOW))
    async with units.open(agency_id="agency-a", actor="crs-1") as uow:
        await handlers.draft_plan(command, uow)
    assert [type(e) for e in units.published()] == [PlanDrafted]

A unit of work that raises is rolled back: its events and outbox records are removed.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

from shared import cloudevents
from shared.clock import Clock, system_clock
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.eventstore.memory import InMemoryEventStore
from shared.uow import OutboxRecord, UnitOfWork


class InMemoryOutbox:
    """Outbox records in a list, encoded exactly as the PostgreSQL outbox encodes them."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.records: list[OutboxRecord] = []
        self.events: list[NewEvent] = []
        self._next_id = 1

    async def add(self, events: Sequence[NewEvent]) -> None:
        for e in events:
            key, value, headers = cloudevents.encode(e, self.service)
            self.records.append(
                OutboxRecord(self._next_id, cloudevents.topic_for(self.service), key, value, list(headers))
            )
            self.events.append(e)
            self._next_id += 1

    async def pending(self, limit: int) -> list[OutboxRecord]:
        return self.records[:limit]

    async def remove(self, ids: Sequence[int]) -> None:
        gone = set(ids)
        self.records = [r for r in self.records if r.id not in gone]


class InMemoryInbox:
    """Handled event ids per consumer."""

    def __init__(self) -> None:
        self.seen: dict[str, set[UUID]] = {}

    async def record(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        seen = self.seen.setdefault(consumer, set())
        fresh = {i for i in event_ids if i not in seen}
        seen.update(fresh)
        return fresh


class InMemoryUnitsOfWork:
    """Opens units of work over one in-memory event store and outbox (a service's, in a test).

    ``tables`` is handed to every unit of work as ``uow.tables``: a service's fake of its own
    tables (the rows its handlers check and write besides streams), or None. ``uow.conn`` is None.
    """

    def __init__(self, service: str, *, clock: Clock = system_clock, tables: Any = None) -> None:
        self.service = service
        self.clock = clock
        self.store = InMemoryEventStore()
        self.outbox = InMemoryOutbox(service)
        self.tables = tables

    @contextlib.asynccontextmanager
    async def open(
        self, *, agency_id: str | None = None, actor: str | None = None, correlation_id: str | None = None
    ) -> AsyncIterator[UnitOfWork]:
        metadata = Metadata(correlation_id=correlation_id or str(uuid.uuid4()), actor=actor)
        uow = UnitOfWork(conn=None, store=self.store, service=self.service, metadata=metadata,
                         outbox=self.outbox, agency_id=agency_id, clock=self.clock, tables=self.tables)
        outbox_mark = len(self.outbox.records), len(self.outbox.events)
        try:
            yield uow
        except BaseException:
            self.store.forget([e.event_id for e in uow.appended])
            del self.outbox.records[outbox_mark[0]:]
            del self.outbox.events[outbox_mark[1]:]
            raise

    def published(self) -> list[DomainEvent]:
        """The events handed to the outbox so far, oldest first."""
        return [e.event for e in self.outbox.events]

    async def stream(self, stream_id: str) -> list[DomainEvent]:
        """Every event of one stream (public and private), in order."""
        return [e.event for e in await self.store.read_stream(stream_id)]
