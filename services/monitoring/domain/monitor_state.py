"""What monitoring knows about one participant, folded from its own events.

Facts decided by other services (enrolment, risk level, discharge) enter this stream as
monitoring's own translations (``MonitoringStarted``, ``RiskLevelNoted``, ``MonitoringEnded``), so
the aggregate never depends on another service's stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from services.monitoring.domain import milestones, risk_levels
from services.monitoring.domain.checkin import RISING_CRAVING_CHECK_INS
from services.monitoring.domain.schedule import Cadence, Schedule
from shared.catalogue.monitoring import (
    CheckInCompleted,
    CheckInMissed,
    CheckInScheduleSet,
    MilestoneReached,
    MonitoringEnded,
    MonitoringStarted,
    RelapseReported,
    RiskEscalated,
    RiskLevel,
    RiskLevelNoted,
)
from shared.domain import Aggregate
from shared.events import DomainEvent


@dataclass(frozen=True)
class MonitorState:
    participant_id: UUID | None = None
    active: bool = False
    ended: bool = False
    risk_level: RiskLevel = risk_levels.UNASSESSED
    schedule: Schedule | None = None
    consecutive_misses: int = 0
    last_check_in_at: datetime | None = None
    recent_cravings: tuple[int, ...] = ()
    count_start: date | None = None
    milestones_announced: frozenset[str] = frozenset()

    @property
    def known(self) -> bool:
        return self.participant_id is not None


def evolve(state: MonitorState, event: DomainEvent) -> MonitorState:
    """Fold one event into the state; events of other types change nothing."""
    match event:
        case MonitoringStarted():
            start = event.recovery_start_date
            # Milestones passed before Waypoint knew the person are not announced again.
            passed = (
                frozenset(m.key for m in milestones.milestones_between(start, None, event.started_at.date()))
                if start
                else frozenset()
            )
            return replace(
                MonitorState(),
                participant_id=event.participant_id,
                active=True,
                risk_level=state.risk_level,
                count_start=start,
                milestones_announced=passed,
            )
        case RiskLevelNoted():
            return replace(state, risk_level=event.risk_level)
        case RiskEscalated():
            return replace(state, risk_level=event.to_level)
        case MonitoringEnded():
            return replace(state, active=False, ended=True, schedule=None)
        case CheckInScheduleSet():
            cadence = Cadence(event.interval, event.grace)
            return replace(state, schedule=Schedule(cadence, event.basis, event.next_due_at))
        case CheckInCompleted():
            schedule = state.schedule
            if schedule is not None:
                schedule = (
                    replace(schedule, next_due_at=event.next_due_at)
                    if event.next_due_at
                    else schedule.after_check_in(event.completed_at)
                )
            keep = RISING_CRAVING_CHECK_INS - 1
            return replace(
                state,
                schedule=schedule,
                consecutive_misses=0,
                last_check_in_at=event.completed_at,
                recent_cravings=(*state.recent_cravings, event.craving)[-keep:],
            )
        case CheckInMissed():
            schedule = state.schedule
            if schedule is not None:
                schedule = replace(schedule, next_due_at=event.due_at + schedule.cadence.interval)
            return replace(state, schedule=schedule, consecutive_misses=event.consecutive_misses)
        case MilestoneReached():
            return replace(state, milestones_announced=state.milestones_announced | {event.milestone})
        case RelapseReported():
            if state.count_start is not None and event.relapsed_on < state.count_start:
                return state  # an earlier relapse told late does not restart the current count
            return replace(state, count_start=event.relapsed_on, milestones_announced=frozenset())
    return state


participant_monitor: Aggregate[MonitorState] = Aggregate("participant-monitor", MonitorState, evolve)
