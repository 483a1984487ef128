"""Command handlers: load the participant's monitor, decide, append, keep the due row in step.

Each handler runs inside one unit of work (one transaction). It locks the participant's row first,
so it waits for a scheduler sweep holding that row, and a sweep skips a row a command holds.
Free text (notes, a new warning sign in the participant's words) is written to ``private_texts``
in the same transaction and never into an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.adapters import snapshots
from services.monitoring.adapters.monitor_store import (
    Decided,
    lock_and_load_many,
    stream_id,
    sync_rows,
    write_streams,
)
from services.monitoring.domain.checkin import CheckInAnswers, RecordCheckIn
from services.monitoring.domain.commands import (
    CheckInScheduleChoice,
    CheckMilestones,
    ContactReport,
    EndMonitoring,
    HelpRequest,
    LogContact,
    NoteRiskLevel,
    NoteTimeZone,
    RelapseReport,
    ReportRelapse,
    RequestHelp,
    SetCheckInSchedule,
    StartMonitoring,
)
from services.monitoring.domain.monitor_state import MonitorState, evolve, participant_monitor
from services.monitoring.domain.participant_monitor import (
    decide_check_milestones,
    decide_end_monitoring,
    decide_log_contact,
    decide_note_risk_level,
    decide_note_time_zone,
    decide_record_check_in,
    decide_report_relapse,
    decide_request_help,
    decide_set_check_in_schedule,
    decide_start_monitoring,
)
from services.monitoring.projections import read_models
from shared.domain import DomainError, NotFound
from shared.envelope import Metadata, NewEvent, StoredEvent
from shared.events import DomainEvent, load_event
from shared.uow import UnitOfWork

Decide = Callable[[MonitorState], Sequence[DomainEvent]]

# Lock the participant's row and read the stream in one round trip: the lock serialises writers
# of the stream (a sweep holding the row is waited for), the events come back in version order.
# The latest snapshot comes along, and only the events after it.
_LOCK_AND_LOAD = """
WITH locked AS (SELECT agency_id FROM monitored_participants WHERE participant_id = $1 FOR UPDATE),
     snap AS (SELECT version, state::text AS state FROM monitor_snapshots WHERE participant_id = $1)
SELECT l.agency_id, (SELECT version FROM snap) AS snap_version, (SELECT state FROM snap) AS snap_state,
       e.stream_version, e.event_type, e.schema_version, e.data::text AS data
FROM locked l
LEFT JOIN events e ON e.stream_id = $2 AND e.stream_version > $3 * COALESCE((SELECT version FROM snap), 0)
ORDER BY e.stream_version
"""


# The same without the lock, for reads.
_LOAD = _LOCK_AND_LOAD.replace(" FOR UPDATE", "")


async def _load(uow: UnitOfWork, query: str, participant_id: UUID, agency_id: str) -> tuple[MonitorState, int, int]:
    """The state from the latest snapshot and the events after it: (state, version, snapshot version)."""
    rows = await uow.conn.fetch(query, participant_id, stream_id(participant_id), 1)
    if not rows or rows[0]["agency_id"] != agency_id:
        raise NotFound("participant is not known to monitoring", field="participant_id")
    state, version, snap_version = MonitorState(), 0, rows[0]["snap_version"] or 0
    if snap_version:
        snap = snapshots.from_json(rows[0]["snap_state"])
        if snap is None:  # written by an older format: fold the whole stream
            rows = await uow.conn.fetch(query, participant_id, stream_id(participant_id), 0)
            snap_version = 0
        else:
            state, version = snap, snap_version
    for row in rows:
        if row["event_type"] is not None:
            event = load_event(row["event_type"], row["schema_version"], orjson.loads(row["data"]))
            state, version = evolve(state, event), row["stream_version"]
    return state, version, snap_version


async def on_monitor(
    uow: UnitOfWork, participant_id: UUID, agency_id: str, decide: Decide, now: datetime, *, create: bool = False
) -> tuple[MonitorState, list[StoredEvent]]:
    """Lock, load, decide, append and sync the due row. Someone of another agency is not found."""
    if create:
        await uow.conn.execute(
            "INSERT INTO monitored_participants (participant_id, agency_id, active) VALUES ($1, $2, false)"
            " ON CONFLICT DO NOTHING",
            participant_id,
            agency_id,
        )
    state, version, snap_version = await _load(uow, _LOCK_AND_LOAD, participant_id, agency_id)
    events = list(decide(state))
    stored = await uow.append(
        stream_id(participant_id),
        participant_monitor.stream_type,
        events,
        expected_version=version,
        agency_id=agency_id,
        participant_id=participant_id,
    )
    state = participant_monitor.fold(events, state)
    await read_models.project_written(uow.conn, stored)
    if stored or create:
        await sync_rows(uow.conn, [Decided(participant_id, agency_id, 0, (), state)], now)
        await snapshots.save_due(uow.conn, [(participant_id, snap_version, version + len(events), state)])
    return state, stored


async def _keep_private(
    uow: UnitOfWork, participant_id: UUID, agency_id: str, ref_id: UUID, texts: Sequence[tuple[str, str | None]]
) -> None:
    rows = [(kind, body) for kind, body in texts if body]
    if not rows:
        return
    await uow.conn.executemany(
        _INSERT_PRIVATE,
        [(participant_id, agency_id, kind, ref_id, body, uow.metadata.actor) for kind, body in rows],
    )


@dataclass(frozen=True)
class CheckInOrder:
    """One check-in to record, as the API received it."""

    participant_id: UUID
    agency_id: str
    answers: CheckInAnswers
    metadata: Metadata
    now: datetime
    check_in_id: UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class CheckInRecorded:
    """What a recorded check-in produced: the participant's state after it and its events."""

    check_in_id: UUID
    state: MonitorState
    events: Sequence[DomainEvent]


def _private_texts(answers: CheckInAnswers) -> list[tuple[str, str | None]]:
    texts: list[tuple[str, str | None]] = [("check_in_note", answers.private_note)]
    texts += [("warning_sign", s.description) for s in answers.warning_signs]
    texts += [("coping_strategy", c.description) for c in answers.coping_strategies]
    return texts


async def record_check_ins(
    conn: asyncpg.Connection, orders: Sequence[CheckInOrder]
) -> list[CheckInRecorded | DomainError]:
    """Record many check-ins in the caller's transaction, with the same rules and effects as
    :func:`record_check_in` one at a time, in a fixed number of round trips.

    The participants' rows are locked in participant order and their streams loaded together;
    each order is decided in turn against its participant's state so far (so two check-ins of
    one person in a batch fold in order). An order a rule refuses gets its DomainError in the
    result and writes nothing; the others are written with one append, one outbox insert, one
    due-row sync and one insert of private texts.
    """
    agencies, loaded = await lock_and_load_many(conn, [o.participant_id for o in orders])
    current = {pid: (state, version) for pid, (state, version, _) in loaded.items()}
    results: list[CheckInRecorded | DomainError] = []
    written: dict[UUID, list[NewEvent]] = {}
    texts: list[tuple[UUID, str, str, UUID, str, str | None]] = []
    for order in orders:
        pid = order.participant_id
        if agencies.get(pid) != order.agency_id:
            results.append(NotFound("participant is not known to monitoring", field="participant_id"))
            continue
        state, version = current[pid]
        cmd = RecordCheckIn.model_construct(**dict(order.answers), participant_id=pid, check_in_id=order.check_in_id)
        try:
            events = decide_record_check_in(state, cmd, order.now)
        except DomainError as exc:
            results.append(exc)
            continue
        state = participant_monitor.fold(events, state)
        current[pid] = (state, version + len(events))
        written.setdefault(pid, []).extend(
            NewEvent(
                stream_id=stream_id(pid),
                stream_type=participant_monitor.stream_type,
                agency_id=order.agency_id,
                participant_id=pid,
                event=e,
                metadata=order.metadata,
                occurred_at=order.now,
            )
            for e in events
        )
        texts += [
            (pid, order.agency_id, kind, order.check_in_id, body, order.metadata.actor)
            for kind, body in _private_texts(order.answers)
            if body
        ]
        results.append(CheckInRecorded(order.check_in_id, state, events))
    if not written:
        return results
    new = await write_streams(conn, [(events, loaded[pid][1]) for pid, events in written.items()])
    touched = [Decided(pid, agencies[pid], 0, (), current[pid][0]) for pid in written]
    await sync_rows(conn, touched, max(o.now for o in orders))
    await snapshots.save_due(conn, [(pid, loaded[pid][2], current[pid][1], current[pid][0]) for pid in written])
    if texts:
        await conn.executemany(_INSERT_PRIVATE, texts)
    # Last: the agency's daily counts are rows every concurrent batch updates; touching them just
    # before the commit keeps the time other batches wait for them short.
    await read_models.project_written(conn, new)
    return results


_INSERT_PRIVATE = (
    "INSERT INTO private_texts (participant_id, agency_id, kind, ref_id, body, written_by)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def set_check_in_schedule(
    uow: UnitOfWork, participant_id: UUID, agency_id: str, choice: CheckInScheduleChoice, now: datetime
) -> MonitorState:
    cmd = SetCheckInSchedule(participant_id=participant_id, interval=choice.interval, grace=choice.grace)
    decide: Decide = lambda s: decide_set_check_in_schedule(s, cmd, now)  # noqa: E731
    state, _ = await on_monitor(uow, participant_id, agency_id, decide, now)
    return state


async def record_check_in(
    uow: UnitOfWork,
    participant_id: UUID,
    agency_id: str,
    answers: CheckInAnswers,
    now: datetime,
    *,
    check_in_id: UUID | None = None,
) -> tuple[UUID, MonitorState, list[StoredEvent]]:
    """One check-in in the caller's unit of work (the API batches them: :func:`record_check_ins`)."""
    check_in_id = check_in_id or uuid.uuid4()
    cmd = RecordCheckIn.model_construct(
        **dict(answers), participant_id=participant_id, check_in_id=check_in_id
    )  # the answers were validated as the body; only ids are added
    state, stored = await on_monitor(uow, participant_id, agency_id, lambda s: decide_record_check_in(s, cmd, now), now)
    await _keep_private(uow, participant_id, agency_id, check_in_id, _private_texts(answers))
    return check_in_id, state, stored


async def request_help(uow: UnitOfWork, participant_id: UUID, agency_id: str, body: HelpRequest, now: datetime) -> UUID:
    cmd = RequestHelp(participant_id=participant_id, help_request_id=uuid.uuid4(), **dict(body))
    await on_monitor(uow, participant_id, agency_id, lambda s: decide_request_help(s, cmd, now), now)
    await _keep_private(uow, participant_id, agency_id, cmd.help_request_id, [("help_message", body.message)])
    return cmd.help_request_id


async def report_relapse(
    uow: UnitOfWork, participant_id: UUID, agency_id: str, body: RelapseReport, reported_by: str, now: datetime
) -> UUID:
    cmd = ReportRelapse(participant_id=participant_id, relapse_id=uuid.uuid4(), reported_by=reported_by, **dict(body))
    await on_monitor(uow, participant_id, agency_id, lambda s: decide_report_relapse(s, cmd, now), now)
    await _keep_private(uow, participant_id, agency_id, cmd.relapse_id, [("relapse_note", body.note)])
    return cmd.relapse_id


async def log_contact(
    uow: UnitOfWork, participant_id: UUID, agency_id: str, body: ContactReport, specialist_id: str, now: datetime
) -> UUID:
    cmd = LogContact(participant_id=participant_id, contact_id=uuid.uuid4(), specialist_id=specialist_id, **dict(body))
    await on_monitor(uow, participant_id, agency_id, lambda s: decide_log_contact(s, cmd, now), now)
    await _keep_private(uow, participant_id, agency_id, cmd.contact_id, [("contact_note", body.note)])
    return cmd.contact_id


async def start_monitoring(uow: UnitOfWork, cmd: StartMonitoring, agency_id: str, now: datetime) -> None:
    await on_monitor(
        uow, cmd.participant_id, agency_id, lambda s: decide_start_monitoring(s, cmd, now), now, create=True
    )


async def note_risk_level(uow: UnitOfWork, cmd: NoteRiskLevel, agency_id: str, now: datetime) -> None:
    await on_monitor(uow, cmd.participant_id, agency_id, lambda s: decide_note_risk_level(s, cmd, now), now)


async def note_time_zone(uow: UnitOfWork, cmd: NoteTimeZone, agency_id: str, now: datetime) -> None:
    await on_monitor(uow, cmd.participant_id, agency_id, lambda s: decide_note_time_zone(s, cmd, now), now)


async def end_monitoring(uow: UnitOfWork, cmd: EndMonitoring, agency_id: str, now: datetime) -> None:
    await on_monitor(uow, cmd.participant_id, agency_id, lambda s: decide_end_monitoring(s, cmd, now), now)


async def check_milestones(uow: UnitOfWork, participant_id: UUID, agency_id: str, now: datetime) -> None:
    cmd = CheckMilestones(participant_id=participant_id)
    await on_monitor(uow, participant_id, agency_id, lambda s: decide_check_milestones(s, cmd, now), now)


async def read_monitor(uow: UnitOfWork, participant_id: UUID, agency_id: str) -> MonitorState:
    """The participant's monitor state, for reads (no lock): from the latest snapshot, as writers load it
    (folding a long stream from its start took over a second at 5,000 check-ins)."""
    state, _, _ = await _load(uow, _LOAD, participant_id, agency_id)
    return state
