"""Decisions of the participant monitor: ``decide_*(state, command, now) -> list[DomainEvent]``.

Replaying an order that was already carried out returns no events where the order is a
reaction to another service (enrolment, risk level, discharge) or to the clock (missed windows,
milestones), so redelivery and several scheduler replicas change nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.monitoring.domain import milestones
from services.monitoring.domain.checkin import RecordCheckIn, check_in_reasons
from services.monitoring.domain.commands import (
    CheckMilestones,
    DetectMissedCheckIns,
    EndMonitoring,
    LogContact,
    NoteRiskLevel,
    NoteTimeZone,
    ReportRelapse,
    RequestHelp,
    SetCheckInSchedule,
    StartMonitoring,
    contact_logged,
    help_requested,
)
from services.monitoring.domain.decision import (
    Decision,
    escalate,
    follow_default_cadence,
    record_misses,
    schedule_set,
)
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.schedule import MAX_WINDOWS_PER_DECISION, Cadence, default_cadence
from shared.catalogue.monitoring import (
    CheckInCompleted,
    EscalationCode,
    EscalationReason,
    MilestoneReached,
    MonitoringEnded,
    MonitoringStarted,
    RelapseReported,
    RiskLevelNoted,
    TimeZoneNoted,
)
from shared.domain import Conflict, InvalidCommand, NotFound
from shared.events import DomainEvent
from shared.time_zones import local_date

CLOCK_SKEW = timedelta(minutes=5)


def _require_active(state: MonitorState) -> None:
    if not state.known:
        raise NotFound("participant is not known to monitoring", field="participant_id")
    if not state.active:
        raise Conflict("participant has been discharged", field="participant_id")


def decide_start_monitoring(state: MonitorState, cmd: StartMonitoring, now: datetime) -> list[DomainEvent]:
    if state.active:
        return []  # enrolment redelivered
    d = Decision(state)
    d.emit(
        MonitoringStarted(
            participant_id=cmd.participant_id,
            specialist_id=cmd.specialist_id,
            recovery_start_date=cmd.recovery_start_date,
            started_at=now,
            time_zone=cmd.time_zone,
        )
    )
    cadence = default_cadence(d.state.risk_level)
    d.emit(schedule_set(d.state, cadence, "risk_default", now + cadence.interval, now))
    return d.events


def decide_note_risk_level(state: MonitorState, cmd: NoteRiskLevel, now: datetime) -> list[DomainEvent]:
    if not state.active or state.risk_level == cmd.risk_level:
        return []
    d = Decision(state)
    d.emit(
        RiskLevelNoted(
            participant_id=cmd.participant_id,
            risk_level=cmd.risk_level,
            source_event=cmd.source_event,
            noted_at=now,
        )
    )
    follow_default_cadence(d, now)
    return d.events


def decide_note_time_zone(state: MonitorState, cmd: NoteTimeZone, now: datetime) -> list[DomainEvent]:
    """The participant's days are counted in the new zone from now on: the next milestone falls due
    at the start of its date there. Nothing for a discharged participant or the same zone again."""
    if not state.active or state.time_zone == cmd.time_zone:
        return []
    return [TimeZoneNoted(participant_id=cmd.participant_id, time_zone=cmd.time_zone, noted_at=now)]


def decide_end_monitoring(state: MonitorState, cmd: EndMonitoring, now: datetime) -> list[DomainEvent]:
    if not state.active:
        return []
    return [MonitoringEnded(participant_id=cmd.participant_id, reason=cmd.reason, ended_at=now)]


def decide_set_check_in_schedule(state: MonitorState, cmd: SetCheckInSchedule, now: datetime) -> list[DomainEvent]:
    """A specialist's choice starts a fresh window from now."""
    _require_active(state)
    interval, grace = cmd.interval_delta, cmd.grace_delta
    if interval is None or grace is None:
        cadence = default_cadence(state.risk_level)
        return [schedule_set(state, cadence, "risk_default", now + cadence.interval, now)]
    cadence = Cadence(interval, grace)
    return [schedule_set(state, cadence, "custom", now + cadence.interval, now)]


def decide_detect_missed_check_ins(
    state: MonitorState, cmd: DetectMissedCheckIns, now: datetime, limit: int = MAX_WINDOWS_PER_DECISION
) -> list[DomainEvent]:
    """Record each window whose deadline has passed by ``now``, once: the state moves past it."""
    if not state.active:
        return []
    d = Decision(state)
    record_misses(d, now, limit)
    return d.events


def decide_record_check_in(state: MonitorState, cmd: RecordCheckIn, now: datetime) -> list[DomainEvent]:
    """Windows that ran out before this check-in are recorded as missed first, then it resets the count."""
    _require_active(state)
    d = Decision(state)
    record_misses(d, now, MAX_WINDOWS_PER_DECISION)
    reasons = check_in_reasons(cmd, d.state.recent_cravings)
    schedule = d.state.schedule
    d.emit(
        CheckInCompleted(
            participant_id=cmd.participant_id,
            check_in_id=cmd.check_in_id,
            craving=cmd.craving,
            mood=cmd.mood,
            used_since_last_check_in=cmd.used_since_last_check_in,
            substances_used=cmd.substances_used,
            using_now=cmd.using_now,
            plan_warning_sign_ids=cmd.plan_warning_sign_ids,
            new_warning_sign_count=cmd.new_warning_sign_count,
            warning_sign_tags=cmd.warning_sign_tags,
            high_risk_situations=tuple(dict.fromkeys(cmd.high_risk_situations)),
            coping_strategies=cmd.coping_outcomes,
            support_meeting_attended=cmd.support_meeting_attended,
            completed_at=now,
            next_due_at=None if schedule is None else now + schedule.cadence.interval,
        )
    )
    escalate(d, reasons, "check_in", now)
    return d.events


def decide_request_help(state: MonitorState, cmd: RequestHelp, now: datetime) -> list[DomainEvent]:
    """An SOS is immediate: the request and a critical escalation in the same decision."""
    _require_active(state)
    d = Decision(state)
    d.emit(help_requested(cmd, now))
    reason = EscalationReason(code=EscalationCode.HELP_REQUESTED, detail="participant asked for help (SOS)")
    escalate(d, [reason], "help_request", now)
    return d.events


def decide_report_relapse(state: MonitorState, cmd: ReportRelapse, now: datetime) -> list[DomainEvent]:
    _require_active(state)
    if cmd.relapsed_on > local_date(now + CLOCK_SKEW, state.time_zone):  # the participant's today
        raise InvalidCommand("a relapse cannot be reported for a future date", field="relapsed_on")
    start = state.count_start
    restarts = start is None or cmd.relapsed_on >= start
    return [
        RelapseReported(
            participant_id=cmd.participant_id,
            relapse_id=cmd.relapse_id,
            relapsed_on=cmd.relapsed_on,
            substances=cmd.substances,
            reported_by=cmd.reported_by,
            previous_count_start=start,
            days_in_previous_count=(cmd.relapsed_on - start).days if start and restarts else None,
            reported_at=now,
        )
    ]


def decide_log_contact(state: MonitorState, cmd: LogContact, now: datetime) -> list[DomainEvent]:
    """Contacts may be logged after discharge too (follow-up calls), but not for unknown people."""
    if not state.known:
        raise NotFound("participant is not known to monitoring", field="participant_id")
    if cmd.occurred_at is not None and cmd.occurred_at > now + CLOCK_SKEW:
        raise InvalidCommand("a contact cannot be logged in the future", field="occurred_at")
    return [contact_logged(cmd, now)]


def decide_check_milestones(state: MonitorState, cmd: CheckMilestones, now: datetime) -> list[DomainEvent]:
    """Milestones whose date has begun where the participant lives, each announced once."""
    if not state.active or state.count_start is None:
        return []
    start = state.count_start
    return [
        MilestoneReached(
            participant_id=cmd.participant_id,
            milestone=m.key,
            days=m.days,
            reached_on=m.reached_on,
            counted_from=start,
        )
        for m in milestones.due_milestones(start, local_date(now, state.time_zone), state.milestones_announced)
    ]
