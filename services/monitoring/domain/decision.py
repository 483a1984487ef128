"""Steps shared by the participant monitor's decisions.

A :class:`Decision` folds each event it emits into a local copy of the state, so one decision can
record several missed windows, an escalation and the schedule change that follows, each computed
from the state the step before left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from services.monitoring.domain.checkin import escalated_level, is_immediate
from services.monitoring.domain.monitor_state import MonitorState, evolve
from services.monitoring.domain.schedule import Cadence, default_cadence
from shared.catalogue.monitoring import (
    CheckInMissed,
    CheckInScheduleSet,
    EscalationCode,
    EscalationReason,
    RiskEscalated,
    ScheduleBasis,
)
from shared.events import DomainEvent

EscalationCause = Literal["check_in", "missed_check_in", "help_request"]
#: The miss that asks for escalation; later misses are the notification ladder's business.
ESCALATING_MISS = 2


class Decision:
    """Collects events while keeping the state they lead to."""

    def __init__(self, state: MonitorState) -> None:
        self.state = state
        self.events: list[DomainEvent] = []

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)
        self.state = evolve(self.state, event)


def follow_default_cadence(d: Decision, now: datetime) -> None:
    """A risk-default schedule follows the risk level; it never postpones the pending due time."""
    schedule = d.state.schedule
    if schedule is None or schedule.basis != "risk_default":
        return
    cadence = default_cadence(d.state.risk_level)
    if cadence == schedule.cadence:
        return
    d.emit(schedule_set(d.state, cadence, "risk_default", min(schedule.next_due_at, now + cadence.interval), now))


def schedule_set(
    state: MonitorState, cadence: Cadence, basis: ScheduleBasis, next_due_at: datetime, now: datetime
) -> CheckInScheduleSet:
    assert state.participant_id is not None
    return CheckInScheduleSet(
        participant_id=state.participant_id,
        interval=cadence.interval,
        grace=cadence.grace,
        basis=basis,
        risk_level=state.risk_level,
        next_due_at=next_due_at,
        set_at=now,
    )


def escalate(d: Decision, reasons: Sequence[EscalationReason], cause: EscalationCause, now: datetime) -> None:
    if not reasons:
        return
    assert d.state.participant_id is not None
    d.emit(
        RiskEscalated(
            participant_id=d.state.participant_id,
            from_level=d.state.risk_level,
            to_level=escalated_level(d.state.risk_level, reasons),
            reasons=tuple(reasons),
            immediate=is_immediate(reasons),
            cause=cause,
            escalated_at=now,
        )
    )
    follow_default_cadence(d, now)


def record_misses(d: Decision, now: datetime, limit: int) -> None:
    recorded = 0
    while (s := d.state.schedule) is not None and s.deadline <= now and recorded < limit:
        assert d.state.participant_id is not None
        count = d.state.consecutive_misses + 1
        d.emit(
            CheckInMissed(
                participant_id=d.state.participant_id,
                due_at=s.next_due_at,
                deadline=s.deadline,
                consecutive_misses=count,
                detected_at=now,
            )
        )
        recorded += 1
        if count == ESCALATING_MISS:
            reason = EscalationReason(
                code=EscalationCode.CONSECUTIVE_MISSES, detail="second consecutive missed check-in"
            )
            escalate(d, [reason], "missed_check_in", now)
