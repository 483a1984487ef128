"""Participant-monitor streams in bulk, and the row every writer of a stream locks first.

The kernel's unit of work appends to one stream at a time. The schedulers decide for hundreds of
participants per transaction, so this adapter reads many streams in one query and appends to
many streams in one statement, with the same columns, the same primary-key concurrency check
and the same outbox as the kernel's event store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.adapters import snapshots
from services.monitoring.domain import milestones
from services.monitoring.domain.monitor_state import MonitorState, participant_monitor
from shared import outbox
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent, load_event
from shared.eventstore.postgres import append_streams
from shared.time_zones import local_date

SERVICE = "monitoring"
STREAM_TYPE = participant_monitor.stream_type


def stream_id(participant_id: UUID) -> str:
    return f"monitor-{participant_id}"


@dataclass(frozen=True)
class Decided:
    """What one participant's decision produced, ready to be written."""

    participant_id: UUID
    agency_id: str
    expected_version: int
    events: Sequence[DomainEvent]
    state: MonitorState  # the state after the events


async def load_many(
    conn: asyncpg.Connection, participant_ids: Sequence[UUID]
) -> dict[UUID, tuple[MonitorState, int, int]]:
    """(state, version, snapshot version) of each participant's stream, from its snapshot on."""
    snapshot_rows = await conn.fetch(
        "SELECT participant_id, version, state::text AS state FROM monitor_snapshots WHERE participant_id = ANY($1)",
        list(participant_ids),
    )
    return await _fold_after_snapshots(conn, participant_ids, snapshot_rows)


# Lock the rows of many participants, in participant order (two writers locking overlapping sets
# cannot deadlock), and read their snapshots in the same round trip.
_LOCK_MANY = """
SELECT m.participant_id, m.agency_id, s.version, s.state::text AS state
FROM monitored_participants m LEFT JOIN monitor_snapshots s ON s.participant_id = m.participant_id
WHERE m.participant_id = ANY($1)
ORDER BY m.participant_id
FOR UPDATE OF m
"""


async def lock_and_load_many(
    conn: asyncpg.Connection, participant_ids: Sequence[UUID]
) -> tuple[dict[UUID, str], dict[UUID, tuple[MonitorState, int, int]]]:
    """Lock the participants' rows and load their streams: (agency of each participant known to
    monitoring, its (state, version, snapshot version)). Two round trips whatever the count."""
    rows = await conn.fetch(_LOCK_MANY, sorted(set(participant_ids)))
    agencies = {r["participant_id"]: r["agency_id"] for r in rows}
    snapshot_rows = [r for r in rows if r["version"] is not None]
    return agencies, await _fold_after_snapshots(conn, list(agencies), snapshot_rows)


async def _fold_after_snapshots(
    conn: asyncpg.Connection, participant_ids: Sequence[UUID], snapshot_rows: Sequence[asyncpg.Record]
) -> dict[UUID, tuple[MonitorState, int, int]]:
    loaded: dict[UUID, tuple[MonitorState, int, int]] = {p: (MonitorState(), 0, 0) for p in participant_ids}
    for row in snapshot_rows:
        snap = snapshots.from_json(row["state"])
        if snap is not None:
            loaded[row["participant_id"]] = (snap, row["version"], row["version"])
    if not loaded:
        return loaded
    ids = {stream_id(p): p for p in participant_ids}
    rows = await conn.fetch(
        "SELECT e.stream_id, e.stream_version, e.event_type, e.schema_version, e.data::text AS data"
        " FROM events e JOIN unnest($1::text[], $2::int[]) AS x(sid, after)"
        " ON e.stream_id = x.sid AND e.stream_version > x.after ORDER BY e.stream_id, e.stream_version",
        list(ids),
        [loaded[p][1] for p in ids.values()],
    )
    evolve = participant_monitor.evolve
    for row in rows:
        pid = ids[row["stream_id"]]
        state, _, snap_version = loaded[pid]
        event = load_event(row["event_type"], row["schema_version"], orjson.loads(row["data"]))
        loaded[pid] = (evolve(state, event), row["stream_version"], snap_version)
    return loaded


async def append_many(
    conn: asyncpg.Connection, decided: Iterable[Decided], metadata: Metadata, now: datetime
) -> list[NewEvent]:
    """Append every decision's events to its stream and to the outbox, in the caller's transaction.

    One statement for all the streams (the kernel's ``append_streams``): a stream that moved
    since it was read makes the whole batch fail with ConcurrencyError.
    """
    groups: list[tuple[Sequence[NewEvent], int]] = []
    for d in decided:
        events = [
            NewEvent(
                stream_id=stream_id(d.participant_id),
                stream_type=STREAM_TYPE,
                agency_id=d.agency_id,
                event=event,
                metadata=metadata,
                participant_id=d.participant_id,
                occurred_at=now,
            )
            for event in d.events
        ]
        if events:
            groups.append((events, d.expected_version))
    return await write_streams(conn, groups)


async def write_streams(conn: asyncpg.Connection, groups: Sequence[tuple[Sequence[NewEvent], int]]) -> list[NewEvent]:
    """Append (events of one stream, its expected version) groups in one statement and their
    public events to the outbox, in the caller's transaction; returns the events written."""
    await append_streams(conn, groups)
    new = [e for events, _ in groups for e in events]
    await outbox.enqueue(conn, SERVICE, [e for e in new if not type(e.event).private])
    return new


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


_SYNC = """
INSERT INTO monitored_participants (participant_id, agency_id, active, check_in_deadline, milestone_due_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::timestamptz[], $5::timestamptz[])
ON CONFLICT (participant_id) DO UPDATE SET active = excluded.active,
    check_in_deadline = excluded.check_in_deadline, milestone_due_at = excluded.milestone_due_at
"""


async def sync_rows(conn: asyncpg.Connection, decided: Sequence[Decided], now: datetime) -> None:
    """Bring each participant's row (active flag, due times) in line with its new state.

    Pure computation per participant (no query of its own): the check-in batches call it.
    """
    if not decided:
        return
    times = [due_times(d.state, now) for d in decided]
    await conn.execute(
        _SYNC,
        [d.participant_id for d in decided],
        [d.agency_id for d in decided],
        [d.state.active for d in decided],
        [t[0] for t in times],
        [t[1] for t in times],
    )
