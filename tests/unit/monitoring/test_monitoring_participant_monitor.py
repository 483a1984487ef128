"""Given / when / then over the participant monitor's decisions (clock injected as ``now``)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.monitoring.domain.commands import (
    CheckMilestones,
    DetectMissedCheckIns,
    EndMonitoring,
    LogContact,
    NoteRiskLevel,
    ReportRelapse,
    RequestHelp,
    SetCheckInSchedule,
    StartMonitoring,
)
from services.monitoring.domain.participant_monitor import (
    decide_check_milestones,
    decide_detect_missed_check_ins,
    decide_end_monitoring,
    decide_log_contact,
    decide_note_risk_level,
    decide_record_check_in,
    decide_report_relapse,
    decide_request_help,
    decide_set_check_in_schedule,
    decide_start_monitoring,
)
from shared.catalogue.monitoring import (
    CheckInCompleted,
    CheckInMissed,
    CheckInScheduleSet,
    EscalationCode,
    MilestoneReached,
    MonitoringEnded,
    RiskEscalated,
)
from shared.domain import Conflict, InvalidCommand, NotFound

from .helpers import DAY, PARTICIPANT, SECOND, T0, check_in, every, given, names, of_type, started, then_apply

pytestmark = pytest.mark.unit

DETECT = DetectMissedCheckIns(participant_id=PARTICIPANT)


def test_enrolment_starts_monitoring_on_the_unassessed_default_cadence() -> None:
    events = decide_start_monitoring(given(), StartMonitoring(participant_id=PARTICIPANT), T0)
    assert names(events) == ["MonitoringStarted", "CheckInScheduleSet"]
    schedule = of_type(events, CheckInScheduleSet)[0]
    assert (schedule.interval, schedule.basis, schedule.next_due_at) == (3 * DAY, "risk_default", T0 + 3 * DAY)


def test_a_redelivered_enrolment_changes_nothing() -> None:
    assert decide_start_monitoring(given(started()), StartMonitoring(participant_id=PARTICIPANT), T0) == []


@pytest.mark.parametrize(("risk", "interval"), [("high", DAY), ("low", 7 * DAY), ("critical", DAY)])
def test_the_default_schedule_follows_the_risk_level(risk: str, interval: timedelta) -> None:
    state = given(started(), decide_start_monitoring(given(), StartMonitoring(participant_id=PARTICIPANT), T0))
    events = decide_note_risk_level(
        state, NoteRiskLevel(participant_id=PARTICIPANT, risk_level=risk, source_event="x"), T0
    )
    assert names(events) == ["RiskLevelNoted", "CheckInScheduleSet"]
    assert of_type(events, CheckInScheduleSet)[0].interval == interval


def test_a_tighter_cadence_never_postpones_the_check_in_already_due() -> None:
    history = started(risk="low") + [every(7 * DAY).model_copy(update={"basis": "risk_default"})]
    later = T0 + 6 * DAY + timedelta(hours=23)
    events = decide_note_risk_level(
        given(history), NoteRiskLevel(participant_id=PARTICIPANT, risk_level="high", source_event="x"), later
    )
    assert of_type(events, CheckInScheduleSet)[0].next_due_at == T0 + 7 * DAY


def test_a_custom_schedule_does_not_follow_the_risk_level() -> None:
    state = given(started(), every(5 * SECOND))
    events = decide_note_risk_level(
        state, NoteRiskLevel(participant_id=PARTICIPANT, risk_level="high", source_event="x"), T0
    )
    assert names(events) == ["RiskLevelNoted"]


def test_a_specialist_sets_a_schedule_of_seconds() -> None:
    cmd = SetCheckInSchedule(participant_id=PARTICIPANT, interval="PT5S", grace="PT2S")
    [event] = decide_set_check_in_schedule(given(started()), cmd, T0)
    assert (event.interval, event.grace, event.basis, event.next_due_at) == (
        5 * SECOND,
        2 * SECOND,
        "custom",
        T0 + 5 * SECOND,
    )


def test_leaving_out_the_interval_goes_back_to_the_risk_default() -> None:
    [event] = decide_set_check_in_schedule(
        given(started(risk="high"), every(5 * SECOND)), SetCheckInSchedule(participant_id=PARTICIPANT), T0
    )
    assert (event.basis, event.interval) == ("risk_default", DAY)


@pytest.mark.parametrize(
    ("interval", "grace"),
    [("PT0.5S", None), ("P1M", None), ("5 seconds", None), ("PT5S", "PT6S"), (None, "PT1S"), ("PT5S", "-PT1S")],
)
def test_bad_schedules_are_refused_before_reaching_the_aggregate(interval: str | None, grace: str | None) -> None:
    with pytest.raises(ValueError):
        SetCheckInSchedule(participant_id=PARTICIPANT, interval=interval, grace=grace)


def test_a_window_missed_after_its_grace_is_recorded_with_the_count() -> None:
    state = given(started(), every(5 * SECOND, 2 * SECOND))
    assert decide_detect_missed_check_ins(state, DETECT, T0 + 6 * SECOND) == []
    [missed] = decide_detect_missed_check_ins(state, DETECT, T0 + 7 * SECOND)
    assert isinstance(missed, CheckInMissed)
    assert (missed.due_at, missed.deadline, missed.consecutive_misses) == (T0 + 5 * SECOND, T0 + 7 * SECOND, 1)


def test_the_second_consecutive_miss_escalates_and_the_third_does_not_again() -> None:
    state = given(started(risk="moderate"), every(5 * SECOND))
    events = decide_detect_missed_check_ins(state, DETECT, T0 + 15 * SECOND)
    assert names(events) == ["CheckInMissed", "CheckInMissed", "RiskEscalated", "CheckInMissed"]
    escalation = of_type(events, RiskEscalated)[0]
    assert (escalation.from_level, escalation.to_level, escalation.cause) == ("moderate", "high", "missed_check_in")
    assert escalation.reasons[0].code == EscalationCode.CONSECUTIVE_MISSES
    assert [m.consecutive_misses for m in of_type(events, CheckInMissed)] == [1, 2, 3]


def test_each_missed_window_is_recorded_once_however_often_the_scheduler_asks() -> None:
    state = given(started(), every(5 * SECOND))
    first = decide_detect_missed_check_ins(state, DETECT, T0 + 12 * SECOND)
    state = then_apply(state, first)
    assert decide_detect_missed_check_ins(state, DETECT, T0 + 12 * SECOND) == []
    later = decide_detect_missed_check_ins(state, DETECT, T0 + 20 * SECOND)
    due = [m.due_at for m in of_type(first + later, CheckInMissed)]
    assert due == [T0 + 5 * SECOND, T0 + 10 * SECOND, T0 + 15 * SECOND, T0 + 20 * SECOND]


def test_windows_that_passed_while_the_service_was_down_are_caught_up_in_bounded_steps() -> None:
    state = given(started(), every(SECOND))
    now = T0 + timedelta(minutes=5)
    seen: list = []
    while batch := decide_detect_missed_check_ins(state, DETECT, now, limit=100):
        seen += of_type(batch, CheckInMissed)
        state = then_apply(state, batch)
    assert len(seen) == 300
    assert len({m.due_at for m in seen}) == 300


def test_a_check_in_resets_the_consecutive_miss_count_and_starts_a_new_window() -> None:
    state = given(started(), every(5 * SECOND))
    state = then_apply(state, decide_detect_missed_check_ins(state, DETECT, T0 + 5 * SECOND))
    assert state.consecutive_misses == 1
    events = decide_record_check_in(state, check_in(), T0 + 7 * SECOND)
    assert names(events) == ["CheckInCompleted"]
    state = then_apply(state, events)
    assert state.consecutive_misses == 0
    assert state.schedule is not None and state.schedule.next_due_at == T0 + 12 * SECOND


def test_a_late_check_in_first_records_the_window_it_missed() -> None:
    state = given(started(), every(5 * SECOND))
    events = decide_record_check_in(state, check_in(), T0 + 6 * SECOND)
    assert names(events) == ["CheckInMissed", "CheckInCompleted"]


def test_a_risky_check_in_escalates_with_reasons_and_tightens_the_default_schedule() -> None:
    state = given(started(risk="moderate"))
    state = then_apply(state, decide_start_monitoring(given(), StartMonitoring(participant_id=PARTICIPANT), T0)[1:])
    events = decide_record_check_in(state, check_in(craving=9, used_since_last_check_in=True), T0 + DAY)
    assert names(events) == ["CheckInCompleted", "RiskEscalated", "CheckInScheduleSet"]
    escalation = of_type(events, RiskEscalated)[0]
    assert {r.code for r in escalation.reasons} == {EscalationCode.HIGH_CRAVING, EscalationCode.USE_REPORTED}
    assert (escalation.to_level, escalation.immediate) == ("high", False)
    assert of_type(events, CheckInScheduleSet)[0].interval == DAY


def test_craving_rising_over_three_check_ins_escalates() -> None:
    state = given(started(risk="low"), every(DAY))
    for day, craving in enumerate([2, 4], start=1):
        state = then_apply(state, decide_record_check_in(state, check_in(craving=craving), T0 + day * DAY))
    events = decide_record_check_in(state, check_in(craving=6), T0 + 3 * DAY)
    assert [r.code for r in of_type(events, RiskEscalated)[0].reasons] == [EscalationCode.RISING_CRAVING]


def test_the_private_note_and_new_sign_words_stay_out_of_the_events() -> None:
    cmd = check_in(
        private_note="argued with my brother Sam",
        warning_signs=[{"description": "hiding bottles at home"}],
        coping_strategies=[{"description": "ran by the river", "helped": False}],
    )
    events = decide_record_check_in(given(started(), every(DAY)), cmd, T0 + SECOND)
    dumped = " ".join(e.model_dump_json() for e in events)
    for secret in ("Sam", "bottles", "river"):
        assert secret not in dumped
    assert of_type(events, CheckInCompleted)[0].new_warning_sign_count == 1


def test_a_check_in_for_an_unknown_participant_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide_record_check_in(given(), check_in(), T0)


def test_a_check_in_for_a_discharged_participant_is_refused() -> None:
    state = given(started(), MonitoringEnded(participant_id=PARTICIPANT, reason="discharged", ended_at=T0))
    with pytest.raises(Conflict):
        decide_record_check_in(state, check_in(), T0 + SECOND)


def test_discharge_ends_monitoring_once_and_stops_missed_windows() -> None:
    state = given(started(), every(SECOND))
    events = decide_end_monitoring(state, EndMonitoring(participant_id=PARTICIPANT), T0)
    state = then_apply(state, events)
    assert decide_end_monitoring(state, EndMonitoring(participant_id=PARTICIPANT), T0) == []
    assert decide_detect_missed_check_ins(state, DETECT, T0 + timedelta(hours=1)) == []


def test_help_requested_is_an_immediate_critical_escalation() -> None:
    cmd = RequestHelp(participant_id=PARTICIPANT, help_request_id=uuid.uuid4(), message="please call")
    events = decide_request_help(given(started(risk="low"), every(DAY)), cmd, T0)
    assert names(events) == ["HelpRequested", "RiskEscalated"]
    escalation = of_type(events, RiskEscalated)[0]
    assert (escalation.to_level, escalation.immediate, escalation.cause) == ("critical", True, "help_request")
    assert "please call" not in events[0].model_dump_json()


def test_milestones_are_announced_once_each_counting_from_the_recovery_start() -> None:
    state = given(started(recovery_start=T0.date()))
    events = decide_check_milestones(state, CheckMilestones(participant_id=PARTICIPANT), T0 + 7 * DAY)
    assert [(e.milestone, e.days, e.reached_on) for e in events] == [
        ("1-day", 1, date(2026, 3, 3)),
        ("7-days", 7, date(2026, 3, 9)),
    ]
    state = then_apply(state, events)
    assert decide_check_milestones(state, CheckMilestones(participant_id=PARTICIPANT), T0 + 7 * DAY) == []


def test_milestones_passed_before_enrolment_are_not_announced() -> None:
    state = given(started(recovery_start=date(2025, 1, 1)))
    events = decide_check_milestones(state, CheckMilestones(participant_id=PARTICIPANT), T0)
    assert events == []


def test_a_relapse_restarts_the_count_without_judgement() -> None:
    state = given(started(recovery_start=date(2026, 1, 1)))
    state = then_apply(state, decide_check_milestones(state, CheckMilestones(participant_id=PARTICIPANT), T0))
    relapse = ReportRelapse(participant_id=PARTICIPANT, relapse_id=uuid.uuid4(), relapsed_on=date(2026, 3, 1), note="x")
    [reported] = decide_report_relapse(state, relapse, T0)
    assert (reported.previous_count_start, reported.days_in_previous_count) == (date(2026, 1, 1), 59)
    state = then_apply(state, [reported])
    again = decide_check_milestones(state, CheckMilestones(participant_id=PARTICIPANT), T0 + 6 * DAY)
    assert [(m.milestone, m.counted_from) for m in again] == [("1-day", date(2026, 3, 1)), ("7-days", date(2026, 3, 1))]
    assert all(isinstance(m, MilestoneReached) for m in again)


def test_a_relapse_cannot_be_dated_in_the_future() -> None:
    relapse = ReportRelapse(participant_id=PARTICIPANT, relapse_id=uuid.uuid4(), relapsed_on=date(2026, 3, 5))
    with pytest.raises(InvalidCommand) as error:
        decide_report_relapse(given(started()), relapse, T0)
    assert error.value.field == "relapsed_on"


def test_an_older_relapse_told_late_does_not_restart_the_current_count() -> None:
    history = started(recovery_start=date(2026, 1, 1))
    state = given(history)
    late = ReportRelapse(participant_id=PARTICIPANT, relapse_id=uuid.uuid4(), relapsed_on=date(2025, 12, 1))
    state = then_apply(state, decide_report_relapse(state, late, T0))
    assert state.count_start == date(2026, 1, 1)


def test_contacts_are_logged_without_their_notes_and_even_after_discharge() -> None:
    state = given(started(), MonitoringEnded(participant_id=PARTICIPANT, reason="discharged", ended_at=T0))
    cmd = LogContact(
        participant_id=PARTICIPANT,
        contact_id=uuid.uuid4(),
        specialist_id="crs-1",
        channel="phone",
        occurred_at=T0,
        note="talked about the new job",
    )
    [logged] = decide_log_contact(state, cmd, T0 + SECOND)
    assert "job" not in logged.model_dump_json()
    with pytest.raises(NotFound):
        decide_log_contact(given(), cmd, T0)
