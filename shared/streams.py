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

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from shared.domain import Aggregate, DomainError
from shared.envelope import StoredEvent
from shared.events import DomainEvent
from shared.uow import UnitOfWork

S = TypeVar("S")
K = TypeVar("K")


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream as read: its state, its version (0 for a new stream) and the agency of its first
    event (``None`` for a new stream), so a caller can refuse another agency's stream."""

    stream_id: str
    state: S
    version: int
    agency_id: str | None = None
    #: the version of the snapshot the state was loaded from (0: folded from the start)
    snapshot_version: int = 0


@dataclass(frozen=True)
class Changed(Generic[S]):
    """What a decision wrote: the state after it, the new version and the stored events."""

    stream_id: str
    state: S
    version: int
    stored: list[StoredEvent] = field(default_factory=list)

    @property
    def events(self) -> list[DomainEvent]:
        return [s.event for s in self.stored]


class Snapshots(Protocol[S]):
    """A cache of folded states; written in the transaction of the events it covers."""

    async def latest(self, uow: UnitOfWork, stream_id: str) -> tuple[S, int, str | None] | None:
        """(state, version, agency) of the newest usable snapshot, or None."""
        ...

    async def save(self, uow: UnitOfWork, before: Loaded[S], after: Changed[S]) -> None:
        """Take a snapshot of ``after`` if one is due since ``before.snapshot_version``."""
        ...


#: An inline projection: read tables updated in the same transaction as the events.
Projection = Callable[[UnitOfWork, "Changed[S]"], Awaitable[None]]


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
        stream_id = self.stream_id(key)
        state, version, agency_id = self.aggregate.initial(), 0, None
        snapshot = await self._snapshots.latest(uow, stream_id) if self._snapshots else None
        if snapshot is not None:
            state, version, agency_id = snapshot
        snapshot_version = version
        stored = await uow.store.read_stream(stream_id, from_version=version + 1, conn=uow.conn)
        if stored:
            state = self.aggregate.fold((e.event for e in stored), state)
            version = stored[-1].stream_version
            agency_id = agency_id or stored[0].agency_id
        return Loaded(stream_id, state, version, agency_id, snapshot_version)

    async def load_many(self, uow: UnitOfWork, keys: Sequence[K]) -> list[Loaded[S]]:
        """Several streams of this aggregate, in the order of ``keys``."""
        return [await self.load(uow, key) for key in keys]

    async def save(
        self,
        uow: UnitOfWork,
        loaded: Loaded[S],
        events: Sequence[DomainEvent],
        *,
        participant_id: UUID | None,
        agency_id: str | None = None,
    ) -> Changed[S]:
        """Append ``events`` after ``loaded`` (event store + outbox), project them, snapshot if due.

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
        changed = Changed(
            loaded.stream_id, self.aggregate.fold(events, loaded.state), loaded.version + len(stored), stored
        )
        if stored:
            if self._project is not None:
                await self._project(uow, changed)
            if self._snapshots is not None:
                await self._snapshots.save(uow, loaded, changed)
        return changed

    def check_agency(self, loaded: Loaded[S], agency_id: str) -> None:
        """Refuse (with ``not_found``) a stream that another agency wrote."""
        if self._not_found is not None and loaded.agency_id not in (None, agency_id):
            raise self._not_found()

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
