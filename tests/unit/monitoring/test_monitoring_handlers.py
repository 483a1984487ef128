"""Monitoring's command handlers on the in-memory unit of work (no database, no Kafka): what each
writes to the participant's stream, the outbox, the due row, the private texts and the read
models, and what each refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest

from services.monitoring.adapters.tables import InMemoryTables
from services.monitoring.application import handlers
from services.monitoring.application.handlers import CheckInOrder, CheckInRecorded
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
from shared.catalogue.monitoring import (
    CheckInCompleted,
    CheckInScheduleSet,
    ContactLogged,
    HelpRequested,
    MilestoneReached,
    MonitoringEnded,
    MonitoringStarted,
    RelapseReported,
    RiskLevelNoted,
    TimeZoneNoted,
)
from shared.clock import ManualClock
from shared.domain import Conflict, DomainError, NotFound
from shared.envelope import Metadata
from shared.events import DomainEvent
from shared.memory import InMemoryUnitsOfWork
from shared.uow import UnitOfWork

from .helpers import DAY, T0

pytestmark = pytest.mark.unit

AGENCY = "agency-a"
C = TypeVar("C")
R = TypeVar("R")


class Monitoring:
    def __init__(self) -> None:
        self.tables = InMemoryTables()
        self.clock = ManualClock(T0)
        self.units = InMemoryUnitsOfWork("monitoring", clock=self.clock, tables=self.tables)

    async def run(self, handle: Callable[[C, UnitOfWork], Awaitable[R]], command: C, agency: str = AGENCY) -> R:
        async with self.units.open(agency_id=agency, actor="crs-1") as uow:
            return await handle(command, uow)

    async def started(self, **options: Any) -> UUID:
        pid = uuid4()
        await self.run(handlers.start_monitoring, StartMonitoring(participant_id=pid, specialist_id="crs-1",
                                                                   recovery_start_date=date(2026, 2, 1), **options))
        return pid

    def published(self) -> list[type[DomainEvent]]:
        return [type(e) for e in self.units.published()]


def check_in(pid: UUID, craving: int = 2, **answers: Any) -> RecordCheckIn:
    return RecordCheckIn(participant_id=pid, check_in_id=uuid4(), craving=craving, mood=4, **answers)


@pytest.fixture
def monitoring() -> Monitoring:
    return Monitoring()


async def test_start_monitoring_creates_the_row_with_its_next_deadline(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    assert monitoring.published() == [MonitoringStarted, CheckInScheduleSet]
    agency, active, deadline, _ = monitoring.tables.participants[pid]
    assert (agency, active) == (AGENCY, True) and deadline is not None and deadline > T0


async def test_a_participant_of_another_agency_is_not_known_to_monitoring(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    with pytest.raises(NotFound):
        await monitoring.run(handlers.record_check_in, check_in(pid), agency="agency-b")
    with pytest.raises(NotFound):
        await monitoring.run(handlers.note_risk_level, NoteRiskLevel(participant_id=uuid4(), risk_level="high",
                                                                     source_event="AssessmentCompleted"))


async def test_a_check_in_is_recorded_projected_and_its_note_kept_out_of_the_event(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    monitoring.clock.advance(hours=3)
    order = check_in(pid, private_note="rough morning")
    recorded = await monitoring.run(handlers.record_check_in, order)
    assert isinstance(recorded, CheckInRecorded) and type(recorded.events[0]) is CheckInCompleted
    assert "rough morning" not in str([e.model_dump() for e in monitoring.units.published()])
    [(who, agency, kind, ref, body, by)] = monitoring.tables.private
    assert (who, agency, kind, ref, body, by) == (pid, AGENCY, "check_in_note", order.check_in_id, "rough morning",
                                                  "crs-1")
    assert [type(e.event) for e in monitoring.tables.projected][-1] is CheckInCompleted


async def test_set_check_in_schedule_moves_the_deadline(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    state = await monitoring.run(handlers.set_check_in_schedule,
                                 SetCheckInSchedule(participant_id=pid, interval="PT4H", grace="PT30M"))
    assert monitoring.published()[-1] is CheckInScheduleSet
    assert state.schedule is not None and state.schedule.cadence.interval == timedelta(hours=4)
    assert monitoring.tables.participants[pid][2] == state.schedule.deadline


async def test_help_relapse_and_contact_keep_their_free_text_private(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    help_id = await monitoring.run(handlers.request_help, RequestHelp(participant_id=pid, help_request_id=uuid4(),
                                                                      message="call me"))
    relapse = ReportRelapse(participant_id=pid, relapse_id=uuid4(), relapsed_on=T0.date(), note="at the party")
    relapse_id = await monitoring.run(handlers.report_relapse, relapse)
    contact = LogContact(participant_id=pid, contact_id=uuid4(), specialist_id="crs-1", channel="phone", note="ok")
    contact_id = await monitoring.run(handlers.log_contact, contact)
    told = {HelpRequested, RelapseReported, ContactLogged}
    assert [t for t in monitoring.published() if t in told] == [HelpRequested, RelapseReported, ContactLogged]
    kept = [(kind, ref, body) for _, _, kind, ref, body, _ in monitoring.tables.private]
    assert kept == [("help_message", help_id, "call me"), ("relapse_note", relapse_id, "at the party"),
                    ("contact_note", contact_id, "ok")]


async def test_risk_level_and_time_zone_are_noted_once(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    note = NoteRiskLevel(participant_id=pid, risk_level="high", source_event="AssessmentCompleted")
    await monitoring.run(handlers.note_risk_level, note)
    await monitoring.run(handlers.note_time_zone, NoteTimeZone(participant_id=pid, time_zone="America/New_York"))
    await monitoring.run(handlers.note_time_zone, NoteTimeZone(participant_id=pid, time_zone="America/New_York"))
    noted = [t for t in monitoring.published() if t in (RiskLevelNoted, TimeZoneNoted)]
    assert noted == [RiskLevelNoted, TimeZoneNoted]


async def test_end_monitoring_clears_the_due_times_and_refuses_later_check_ins(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    await monitoring.run(handlers.end_monitoring, EndMonitoring(participant_id=pid))
    assert monitoring.published()[-1] is MonitoringEnded
    assert monitoring.tables.participants[pid] == (AGENCY, False, None, None)
    with pytest.raises(Conflict):
        await monitoring.run(handlers.record_check_in, check_in(pid))


async def test_check_milestones_announces_each_reached_milestone_once(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    monitoring.clock.advance(DAY * 40)
    await monitoring.run(handlers.check_milestones, CheckMilestones(participant_id=pid))
    reached = monitoring.published().count(MilestoneReached)
    await monitoring.run(handlers.check_milestones, CheckMilestones(participant_id=pid))
    assert reached >= 1 and monitoring.published().count(MilestoneReached) == reached


async def test_a_batch_of_check_ins_decides_each_in_turn_and_refuses_alone(monitoring: Monitoring) -> None:
    pid, ended = await monitoring.started(), await monitoring.started()
    await monitoring.run(handlers.end_monitoring, EndMonitoring(participant_id=ended))

    def order(who: UUID, craving: int, agency: str = AGENCY) -> CheckInOrder:
        return CheckInOrder(who, agency, CheckInAnswers(craving=craving, mood=3), Metadata(correlation_id=f"c{craving}",
                                                                                           actor="crs-1"), T0)

    orders = [order(pid, 9), order(uuid4(), 1), order(ended, 2), order(pid, 10), order(pid, 3, agency="agency-b")]
    async with monitoring.units.open() as uow:
        results = await handlers.record_check_ins(orders, uow)
    assert [type(r) for r in results] == [CheckInRecorded, NotFound, Conflict, CheckInRecorded, NotFound]
    first, second = results[0], results[3]
    assert isinstance(first, CheckInRecorded) and isinstance(second, CheckInRecorded)
    assert second.state.recent_cravings[-2:] == (9, 10)  # the second was decided on the first's state
    stream = [e for e in await monitoring.units.stream(f"monitor-{pid}") if isinstance(e, CheckInCompleted)]
    assert [e.craving for e in stream] == [9, 10]
    written = await monitoring.units.store.read_stream(f"monitor-{pid}")
    assert [w.metadata.correlation_id for w in written if w.event_type == "CheckInCompleted"] == ["c9", "c10"]


async def test_every_refusal_leaves_no_trace(monitoring: Monitoring) -> None:
    pid = await monitoring.started()
    await monitoring.run(handlers.end_monitoring, EndMonitoring(participant_id=pid))
    before = (len(monitoring.units.published()), len(monitoring.tables.private))
    with pytest.raises(DomainError):
        await monitoring.run(handlers.request_help, RequestHelp(participant_id=pid, help_request_id=uuid4(),
                                                                message="x"))
    assert (len(monitoring.units.published()), len(monitoring.tables.private)) == before
