"""Monitoring's command handlers, one shape: ``handle(command, uow)``; the caller's agency and the
time come with the unit of work.

Each handler locks the participant's row first, so it waits for a scheduler sweep holding that
row, and a sweep skips a row a command holds. Free text (notes, a new warning sign in the
participant's words) is written to ``private_texts`` in the same transaction and never into an
event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from services.monitoring.adapters.streams import monitors
from services.monitoring.adapters.tables import PrivateText, Tables
from services.monitoring.domain.checkin import CheckInAnswers, RecordCheckIn
from services.monitoring.domain.commands import (
    CheckMilestones,
    EndMonitoring,
    LogContact,
    NoteRiskLevel,
    NoteTimeZone,
    ReportRelapse,
    RequestHelp,
    SetCheckInSchedule,
    StartMonitoring,
)
from services.monitoring.domain.monitor_state import MonitorState
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
from shared.domain import DomainError, NotFound
from shared.envelope import Metadata
from shared.events import DomainEvent
from shared.streams import Changed, Decision
from shared.uow import UnitOfWork

Decide = Callable[[MonitorState], Sequence[DomainEvent]]


def unknown() -> NotFound:
    return NotFound("participant is not known to monitoring", field="participant_id")


async def on_monitor(uow: UnitOfWork, participant_id: UUID, decide: Decide) -> Changed[MonitorState]:
    """Lock the participant's row, load, decide, append; someone of another agency is not found."""
    tables: Tables = uow.tables
    if (await tables.lock_participants([participant_id])).get(participant_id) != uow.caller_agency:
        raise unknown()
    return await monitors.execute(uow, participant_id, decide, participant_id=participant_id)


async def _keep_private(
    uow: UnitOfWork, participant_id: UUID, ref_id: UUID, texts: Sequence[tuple[str, str | None]]
) -> None:
    tables: Tables = uow.tables
    await tables.keep_private(
        [(participant_id, uow.caller_agency, kind, ref_id, body, uow.actor) for kind, body in texts if body]
    )


def _private_texts(answers: CheckInAnswers) -> list[tuple[str, str | None]]:
    texts: list[tuple[str, str | None]] = [("check_in_note", answers.private_note)]
    texts += [("warning_sign", s.description) for s in answers.warning_signs]
    texts += [("coping_strategy", c.description) for c in answers.coping_strategies]
    return texts


async def set_check_in_schedule(cmd: SetCheckInSchedule, uow: UnitOfWork) -> MonitorState:
    return (await on_monitor(uow, cmd.participant_id, lambda s: decide_set_check_in_schedule(s, cmd, uow.now))).state


@dataclass(frozen=True)
class CheckInRecorded:
    """What a recorded check-in produced: the participant's state after it and its events."""

    check_in_id: UUID
    state: MonitorState
    events: Sequence[DomainEvent]


async def record_check_in(cmd: RecordCheckIn, uow: UnitOfWork) -> CheckInRecorded:
    """One check-in in its own unit of work (the API batches them: :func:`record_check_ins`)."""
    changed = await on_monitor(uow, cmd.participant_id, lambda s: decide_record_check_in(s, cmd, uow.now))
    await _keep_private(uow, cmd.participant_id, cmd.check_in_id, _private_texts(cmd))
    return CheckInRecorded(cmd.check_in_id, changed.state, changed.events)


async def request_help(cmd: RequestHelp, uow: UnitOfWork) -> UUID:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_request_help(s, cmd, uow.now))
    await _keep_private(uow, cmd.participant_id, cmd.help_request_id, [("help_message", cmd.message)])
    return cmd.help_request_id


async def report_relapse(cmd: ReportRelapse, uow: UnitOfWork) -> UUID:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_report_relapse(s, cmd, uow.now))
    await _keep_private(uow, cmd.participant_id, cmd.relapse_id, [("relapse_note", cmd.note)])
    return cmd.relapse_id


async def log_contact(cmd: LogContact, uow: UnitOfWork) -> UUID:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_log_contact(s, cmd, uow.now))
    await _keep_private(uow, cmd.participant_id, cmd.contact_id, [("contact_note", cmd.note)])
    return cmd.contact_id


async def start_monitoring(cmd: StartMonitoring, uow: UnitOfWork) -> None:
    tables: Tables = uow.tables
    await tables.ensure_participant(cmd.participant_id, uow.caller_agency)
    started = await on_monitor(uow, cmd.participant_id, lambda s: decide_start_monitoring(s, cmd, uow.now))
    if not started.stored:  # a new row with nothing decided still gets its due times
        await tables.sync_due([(cmd.participant_id, uow.caller_agency, started.state)], uow.now)


async def note_risk_level(cmd: NoteRiskLevel, uow: UnitOfWork) -> None:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_note_risk_level(s, cmd, uow.now))


async def note_time_zone(cmd: NoteTimeZone, uow: UnitOfWork) -> None:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_note_time_zone(s, cmd, uow.now))


async def end_monitoring(cmd: EndMonitoring, uow: UnitOfWork) -> None:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_end_monitoring(s, cmd, uow.now))


async def check_milestones(cmd: CheckMilestones, uow: UnitOfWork) -> None:
    await on_monitor(uow, cmd.participant_id, lambda s: decide_check_milestones(s, cmd, uow.now))


@dataclass(frozen=True)
class CheckInOrder:
    """One check-in to record, as the API received it (the batch keeps each order's caller)."""

    participant_id: UUID
    agency_id: str
    answers: CheckInAnswers
    metadata: Metadata
    now: datetime
    check_in_id: UUID = field(default_factory=uuid4)

    def command(self) -> RecordCheckIn:
        # The answers were validated as the body; only the ids are added.
        return RecordCheckIn.model_construct(
            **dict(self.answers), participant_id=self.participant_id, check_in_id=self.check_in_id
        )


async def record_check_ins(orders: Sequence[CheckInOrder], uow: UnitOfWork) -> list[CheckInRecorded | DomainError]:
    """Record many check-ins in one unit of work, with the same rules and effects as
    :func:`record_check_in` one at a time, in a fixed number of round trips.

    The participants' rows are locked in participant order and their streams loaded together;
    each order is decided in turn against its participant's state so far (so two check-ins of
    one person in a batch fold in order). An order a rule refuses gets its DomainError in the
    result and writes nothing; the others are written with one append and one outbox insert.
    """
    tables: Tables = uow.tables
    agencies = await tables.lock_participants([o.participant_id for o in orders])
    known = sorted(agencies)
    current = {loaded.stream_id: loaded for loaded in await monitors.load_many(uow, known)}
    state_of = {pid: current[monitors.stream_id(pid)].state for pid in known}
    results: list[CheckInRecorded | DomainError] = []
    decisions: list[Decision[MonitorState]] = []
    texts: list[PrivateText] = []
    for order in orders:
        pid = order.participant_id
        if agencies.get(pid) != order.agency_id:
            results.append(unknown())
            continue
        try:
            events = decide_record_check_in(state_of[pid], order.command(), order.now)
        except DomainError as exc:
            results.append(exc)
            continue
        decisions.append(Decision(current[monitors.stream_id(pid)], events, pid, order.agency_id, order.metadata,
                                  order.now))
        state_of[pid] = monitors.aggregate.fold(events, state_of[pid])
        texts += [(pid, order.agency_id, kind, order.check_in_id, body, order.metadata.actor)
                  for kind, body in _private_texts(order.answers) if body]
        results.append(CheckInRecorded(order.check_in_id, state_of[pid], events))
    await tables.keep_private(texts)
    await monitors.save_many(uow, decisions)
    return results


async def read_monitor(uow: UnitOfWork, participant_id: UUID) -> MonitorState:
    """The participant's monitor state, for reads (no lock)."""
    tables: Tables = uow.tables
    if await tables.agency_of(participant_id) != uow.caller_agency:
        raise unknown()
    return (await monitors.load(uow, participant_id)).state
