"""The stream repository: the one way a command reaches its aggregates.

A service declares one repository per aggregate (its stream ids, optional snapshots, optional
inline projection) and every command handler goes through it::

    participants = StreamRepository(participant_aggregate, lambda pid: f"participant-{pid}",
                                    project=directory.apply)

    async def assign_specialist(cmd: AssignSpecialist, uow: UnitOfWork) -> Participant:
        changed = await participants.execute(uow, cmd.participant_id,
                                             lambda s: decide_assign_specialist(s, cmd, uow.now),
                                             participant_id=cmd.participant_id)
        return changed.state

``execute`` loads the stream (from its latest snapshot when there is one), calls ``decide`` on the
state, appends the events with the version it read as the expected version (event store and
outbox, in the unit of work's transaction), runs the projection hook on what was appended, and
saves a snapshot when one is due. A concurrent writer makes the append fail with
:class:`shared.eventstore.ConcurrencyError`; nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from shared.domain import Aggregate, DomainError
from shared.envelope import Metadata, NewEvent, StoredEvent
from shared.events import DomainEvent
from shared.uow import UnitOfWork

S = TypeVar("S")
K = TypeVar("K")


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream as read: its state, its version (0 for a new stream) and the agency of its first
    event read (``None`` for a new stream, or one loaded from a snapshot with no event after it)."""

    stream_id: str
    state: S
    version: int
    agency_id: str | None = None
    #: the version of the snapshot the state was loaded from (0: folded from the start)
    snapshot_version: int = 0


#: An event a decision wrote: stored (one stream appended) or as appended (several streams at once).
Written = NewEvent | StoredEvent


@dataclass(frozen=True)
class Changed(Generic[S]):
    """What a decision wrote: the state after it, the new version and the written events."""

    stream_id: str
    state: S
    version: int
    stored: Sequence[Written] = ()
    participant_id: UUID | None = None
    agency_id: str = ""

    @property
    def events(self) -> list[DomainEvent]:
        return [s.event for s in self.stored]


@dataclass(frozen=True)
class Decision(Generic[S]):
    """New events for one loaded stream (for :meth:`StreamRepository.save_many`).

    Several decisions may name the same stream (several commands batched in one transaction):
    their events follow each other in it, each decided on the state the previous ones left.
    ``metadata`` and ``occurred_at`` default to the unit of work's.
    """

    loaded: Loaded[S]
    events: Sequence[DomainEvent]
    participant_id: UUID | None
    agency_id: str | None = None
    metadata: Metadata | None = None
    occurred_at: datetime | None = None


class Snapshots(Protocol[S]):
    """A cache of folded states; written in the transaction of the events it covers."""

    async def latest(self, uow: UnitOfWork, stream_ids: Sequence[str]) -> Mapping[str, tuple[S, int]]:
        """(state, version) of the newest usable snapshot of each stream that has one."""
        ...

    async def save(self, uow: UnitOfWork, changes: Sequence[tuple[Loaded[S], Changed[S]]]) -> None:
        """Take a snapshot of each changed stream whose snapshot is due."""
        ...


#: An inline projection: read tables updated in the same transaction as the events, once per save.
Projection = Callable[[UnitOfWork, Sequence["Changed[S]"]], Awaitable[None]]


class StreamRepository(Generic[K, S]):
    """Load, decide and append for the streams of one aggregate type."""

    def __init__(
        self,
        aggregate: Aggregate[S],
        stream_id: Callable[[K], str],
        *,
        project: Projection[S] | None = None,
        snapshots: Snapshots[S] | None = None,
        not_found: Callable[[], DomainError] | None = None,
    ) -> None:
        """``not_found``: the error for a stream of another agency than the one writing; a
        participant of another agency must answer exactly like a missing one."""
        self.aggregate = aggregate
        self.stream_id = stream_id
        self._project = project
        self._snapshots = snapshots
        self._not_found = not_found

    async def load(self, uow: UnitOfWork, key: K) -> Loaded[S]:
        """The stream's current state (from its latest snapshot on, when there is one)."""
        return (await self.load_many(uow, [key]))[0]

    async def load_many(self, uow: UnitOfWork, keys: Sequence[K]) -> list[Loaded[S]]:
        """Several streams of this aggregate, in the order of ``keys``: their snapshots in one
        query, then every event after them in one more."""
        ids = [self.stream_id(k) for k in keys]
        snapshots = await self._snapshots.latest(uow, ids) if self._snapshots and ids else {}
        start = {sid: snapshots.get(sid, (self.aggregate.initial(), 0)) for sid in ids}
        if len(ids) == 1:  # the common case: one indexed range read
            only = ids[0]
            after = {only: await uow.store.read_stream(only, from_version=start[only][1] + 1, conn=uow.conn)}
        else:
            after = await uow.store.read_streams({sid: v for sid, (_, v) in start.items()}, conn=uow.conn)
        loaded = []
        for sid in ids:
            state, version = start[sid]
            events = after[sid]
            if events:
                state = self.aggregate.fold((e.event for e in events), state)
            loaded.append(Loaded(sid, state, events[-1].stream_version if events else version,
                                 events[0].agency_id if events else None, start[sid][1]))
        return loaded

    def check_agency(self, loaded: Loaded[S], agency_id: str) -> None:
        """Refuse (with ``not_found``) a stream that another agency wrote."""
        if self._not_found is not None and loaded.agency_id not in (None, agency_id):
            raise self._not_found()

    async def save(
        self,
        uow: UnitOfWork,
        loaded: Loaded[S],
        events: Sequence[DomainEvent],
        *,
        participant_id: UUID | None,
        agency_id: str | None = None,
    ) -> Changed[S]:
        """Append ``events`` after ``loaded`` (event store + outbox), snapshot if due, project.

        ``agency_id`` defaults to the unit of work's (the caller's) agency.
        """
        agency = agency_id or uow.caller_agency
        self.check_agency(loaded, agency)
        stored = await uow.append(
            loaded.stream_id,
            self.aggregate.stream_type,
            events,
            expected_version=loaded.version,
            agency_id=agency,
            participant_id=participant_id,
        )
        changed = Changed(loaded.stream_id, self.aggregate.fold(events, loaded.state), loaded.version + len(stored),
                          stored, participant_id, agency)
        if stored:
            await self._after_append([(loaded, changed)], uow)
        return changed

    async def save_many(self, uow: UnitOfWork, decisions: Sequence[Decision[S]]) -> list[Changed[S]]:
        """Append the events of several streams in one statement (all or nothing: a stream that
        moved since it was read fails them all with ConcurrencyError), with the outbox, the
        snapshots and the projection once for all. Returns one Changed per decision."""
        results: list[Changed[S]] = []
        streams: dict[str, tuple[Loaded[S], Changed[S]]] = {}  # first load, everything after it
        for d in decisions:
            agency = d.agency_id or uow.caller_agency
            self.check_agency(d.loaded, agency)
            nothing_yet = Changed(d.loaded.stream_id, d.loaded.state, d.loaded.version, [], d.participant_id, agency)
            first, so_far = streams.get(d.loaded.stream_id, (d.loaded, nothing_yet))
            written = uow.new_events(d.loaded.stream_id, self.aggregate.stream_type, d.events, agency_id=agency,
                                     participant_id=d.participant_id, occurred_at=d.occurred_at, metadata=d.metadata)
            state = self.aggregate.fold(d.events, so_far.state)
            version = so_far.version + len(written)
            results.append(Changed(d.loaded.stream_id, state, version, written, d.participant_id, agency))
            streams[d.loaded.stream_id] = (
                first, Changed(d.loaded.stream_id, state, version, [*so_far.stored, *written], d.participant_id, agency)
            )
        touched = [(first, after) for first, after in streams.values() if after.stored]
        await uow.append_many([([e for e in after.stored if isinstance(e, NewEvent)], first.version)
                               for first, after in touched])
        if touched:
            await self._after_append(touched, uow)
        return results

    async def _after_append(self, changes: Sequence[tuple[Loaded[S], Changed[S]]], uow: UnitOfWork) -> None:
        if self._snapshots is not None:
            await self._snapshots.save(uow, changes)
        if self._project is not None:
            # Last: read models are the rows concurrent writers share; touching them just before
            # the commit keeps the time others wait for them short.
            await self._project(uow, [c for _, c in changes])

    async def execute(
        self,
        uow: UnitOfWork,
        key: K,
        decide: Callable[[S], Sequence[DomainEvent]],
        *,
        participant_id: UUID | None,
        agency_id: str | None = None,
    ) -> Changed[S]:
        """Load, decide, save: the whole command cycle on one stream."""
        loaded = await self.load(uow, key)
        self.check_agency(loaded, agency_id or uow.caller_agency)
        return await self.save(uow, loaded, list(decide(loaded.state)), participant_id=participant_id,
                               agency_id=agency_id)
