"""Monitoring's own tables as its command handlers see them: the participant row every writer of
a stream locks first (with its due times), snapshots, private texts and the read models written
with the events.

:class:`PostgresTables` is what a unit of work carries in the service (``uow.tables``);
:class:`InMemoryTables` is its fake for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.monitoring.adapters import snapshots
from services.monitoring.domain import milestones
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.projections import read_models
from shared.cloudevents import ReceivedEvent
from shared.envelope import NewEvent, StoredEvent
from shared.keyring import KeyRing, seal_with
from shared.time_zones import local_date

#: (participant, agency, kind, ref id, text, written by)
PrivateText = tuple[UUID, str, str, UUID, str, str | None]
#: the purpose (associated data) of a sealed private text
PRIVATE_BODY = "private_texts.body"


def due_times(state: MonitorState, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The deadline of the current check-in window and the instant the next milestone falls due:
    the start of its date where the participant lives."""
    if not state.active:
        return None, None
    deadline = state.schedule.deadline if state.schedule is not None else None
    milestone_due_at = None
    if state.count_start is not None:
        today = local_date(now, state.time_zone)
        on = milestones.next_milestone_on(state.count_start, state.milestones_announced, today)
        if on is not None:
            milestone_due_at = milestones.day_starts_at(on, state.time_zone)
    return deadline, milestone_due_at


class Tables(Protocol):
    async def ensure_participant(self, participant_id: UUID, agency_id: str) -> None:
        """Create the participant's row (inactive) if monitoring does not know them yet."""
        ...

    async def lock_participants(self, participant_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Lock the rows (in participant order: overlapping sets cannot deadlock); the agency of
        each participant monitoring knows."""
        ...

    async def agency_of(self, participant_id: UUID) -> str | None: ...

    async def latest_snapshots(self, participant_ids: Sequence[UUID]) -> dict[UUID, tuple[MonitorState, int]]:
        """(state, version) of each usable snapshot (one of an older format is not)."""
        ...

    async def save_snapshots(self, items: Sequence[tuple[UUID, int, int, MonitorState]]) -> None:
        """(participant, snapshot version, new version, state): a snapshot where one is due."""
        ...

    async def sync_due(self, states: Sequence[tuple[UUID, str, MonitorState]], now: datetime) -> None:
        """Bring each participant's row (active flag, due times) in line with its state."""
        ...

    async def keep_private(self, texts: Sequence[PrivateText]) -> None: ...

    async def project(self, written: Sequence[NewEvent | StoredEvent]) -> None:
        """The read models (timeline, caseload, overview) of monitoring's own new events."""
        ...


_SYNC = """
INSERT INTO monitored_participants (participant_id, agency_id, active, check_in_deadline, milestone_due_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::timestamptz[], $5::timestamptz[])
ON CONFLICT (participant_id) DO UPDATE SET active = excluded.active,
    check_in_deadline = excluded.check_in_deadline, milestone_due_at = excluded.milestone_due_at
"""

_INSERT_PRIVATE = (
    "INSERT INTO private_texts (participant_id, agency_id, kind, ref_id, body, written_by)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


@dataclass(frozen=True)
class PostgresTables:
    conn: Any
    #: seals private texts under the participant's data key (writers of texts must have it)
    keys: KeyRing | None = None

    async def ensure_participant(self, participant_id: UUID, agency_id: str) -> None:
        await self.conn.execute(
            "INSERT INTO monitored_participants (participant_id, agency_id, active) VALUES ($1, $2, false)"
            " ON CONFLICT DO NOTHING",
            participant_id,
            agency_id,
        )

    async def lock_participants(self, participant_ids: Sequence[UUID]) -> dict[UUID, str]:
        rows = await self.conn.fetch(
            "SELECT participant_id, agency_id FROM monitored_participants WHERE participant_id = ANY($1)"
            " ORDER BY participant_id FOR UPDATE",
            sorted(set(participant_ids)),
        )
        return {r["participant_id"]: r["agency_id"] for r in rows}

    async def agency_of(self, participant_id: UUID) -> str | None:
        agency: str | None = await self.conn.fetchval(
            "SELECT agency_id FROM monitored_participants WHERE participant_id = $1", participant_id
        )
        return agency

    async def latest_snapshots(self, participant_ids: Sequence[UUID]) -> dict[UUID, tuple[MonitorState, int]]:
        rows = await self.conn.fetch(
            "SELECT participant_id, version, state::text AS state FROM monitor_snapshots"
            " WHERE participant_id = ANY($1)",
            list(participant_ids),
        )
        found = {}
        for row in rows:
            state = snapshots.from_json(row["state"])
            if state is not None:  # an older format: fold the whole stream
                found[row["participant_id"]] = (state, row["version"])
        return found

    async def save_snapshots(self, items: Sequence[tuple[UUID, int, int, MonitorState]]) -> None:
        await snapshots.save_due(self.conn, list(items))

    async def sync_due(self, states: Sequence[tuple[UUID, str, MonitorState]], now: datetime) -> None:
        if not states:
            return
        times = [due_times(state, now) for _, _, state in states]
        await self.conn.execute(
            _SYNC,
            [pid for pid, _, _ in states],
            [agency for _, agency, _ in states],
            [state.active for _, _, state in states],
            [t[0] for t in times],
            [t[1] for t in times],
        )

    async def keep_private(self, texts: Sequence[PrivateText]) -> None:
        """Write the texts sealed under each participant's data key (an erased participant's new
        texts are not kept: nothing more may be written about them)."""
        if not texts:
            return
        if self.keys is None:
            raise RuntimeError("private texts are written sealed: these tables were built without a key ring")
        found = await self.keys.keys_for(self.conn, ((t[0], t[1]) for t in texts))
        sealed = []
        for pid, agency, kind, ref_id, body, by in texts:
            key = found.get(pid)
            if key is not None:
                sealed.append((pid, agency, kind, ref_id, seal_with(key, pid, PRIVATE_BODY, body), by))
        if sealed:
            await self.conn.executemany(_INSERT_PRIVATE, sealed)

    async def project(self, written: Sequence[NewEvent | StoredEvent]) -> None:
        await read_models.project_written(self.conn, written)


@dataclass
class InMemoryTables:
    #: participant -> (agency, active, check-in deadline, milestone due at)
    participants: dict[UUID, tuple[str, bool, datetime | None, datetime | None]] = field(default_factory=dict)
    snapshots: dict[UUID, tuple[MonitorState, int]] = field(default_factory=dict)
    private: list[PrivateText] = field(default_factory=list)
    projected: list[NewEvent | StoredEvent] = field(default_factory=list)

    async def ensure_participant(self, participant_id: UUID, agency_id: str) -> None:
        self.participants.setdefault(participant_id, (agency_id, False, None, None))

    async def lock_participants(self, participant_ids: Sequence[UUID]) -> dict[UUID, str]:
        return {p: self.participants[p][0] for p in participant_ids if p in self.participants}

    async def agency_of(self, participant_id: UUID) -> str | None:
        return self.participants[participant_id][0] if participant_id in self.participants else None

    async def latest_snapshots(self, participant_ids: Sequence[UUID]) -> dict[UUID, tuple[MonitorState, int]]:
        return {p: self.snapshots[p] for p in participant_ids if p in self.snapshots}

    async def save_snapshots(self, items: Sequence[tuple[UUID, int, int, MonitorState]]) -> None:
        for pid, old, new, state in items:
            if new - old >= snapshots.EVERY:
                self.snapshots[pid] = (state, new)

    async def sync_due(self, states: Sequence[tuple[UUID, str, MonitorState]], now: datetime) -> None:
        for pid, agency, state in states:
            self.participants[pid] = (agency, state.active, *due_times(state, now))

    async def keep_private(self, texts: Sequence[PrivateText]) -> None:
        self.private.extend(texts)

    async def project(self, written: Sequence[NewEvent | StoredEvent]) -> None:
        self.projected.extend(written)


async def lock_participants_of(conn: Any, events: list[ReceivedEvent]) -> None:
    """Prelude of the reactions consumer's batches (``ConsumerSpec.before_batch``): lock the
    batch's participants in participant order before its handlers lock them one event at a
    time, in the order the events came. Otherwise a batch about b then a and a check-in batch
    about a and b (locked in order) could each hold one and wait for the other."""
    await PostgresTables(conn).lock_participants([e.participant_id for e in events if e.participant_id])
