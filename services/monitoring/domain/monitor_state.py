"""What monitoring knows about one participant, folded from its own events.

Facts decided by other services (enrolment, risk level, time zone, discharge) enter this stream as
monitoring's own translations (``MonitoringStarted``, ``RiskLevelNoted``, ``TimeZoneNoted``,
``MonitoringEnded``), so the aggregate never depends on another service's stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
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
    TimeZoneNoted,
)
from shared.domain import Aggregate
from shared.events import DomainEvent
from shared.time_zones import local_date


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
    #: the participant's IANA time zone (None: UTC), where their days are counted
    time_zone: str | None = None

    @property
    def known(self) -> bool:
        return self.participant_id is not None


def _with(state: MonitorState, **changes: Any) -> MonitorState:
    """``dataclasses.replace`` without its per-call field introspection.

    The schedulers fold hundreds of thousands of events; ``replace`` was the largest single cost
    of a sweep. Copying the instance dict keeps the state frozen for everyone else.
    """
    new = object.__new__(MonitorState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


def _started(state: MonitorState, event: MonitoringStarted) -> MonitorState:
    start = event.recovery_start_date
    # Milestones passed before Waypoint knew the person (by the date where they live) are not
    # announced again.
    passed = (
        frozenset(
            m.key for m in milestones.milestones_between(start, None, local_date(event.started_at, event.time_zone))
        )
        if start
        else frozenset()
    )
    return _with(
        MonitorState(),
        participant_id=event.participant_id,
        active=True,
        risk_level=state.risk_level,
        count_start=start,
        milestones_announced=passed,
        time_zone=event.time_zone,
    )


def _schedule_set(state: MonitorState, event: CheckInScheduleSet) -> MonitorState:
    return _with(state, schedule=Schedule(Cadence(event.interval, event.grace), event.basis, event.next_due_at))


def _completed(state: MonitorState, event: CheckInCompleted) -> MonitorState:
    schedule = state.schedule
    if schedule is not None:
        schedule = (
            Schedule(schedule.cadence, schedule.basis, event.next_due_at)
            if event.next_due_at
            else schedule.after_check_in(event.completed_at)
        )
    keep = RISING_CRAVING_CHECK_INS - 1
    return _with(
        state,
        schedule=schedule,
        consecutive_misses=0,
        last_check_in_at=event.completed_at,
        recent_cravings=(*state.recent_cravings, event.craving)[-keep:],
    )


def _missed(state: MonitorState, event: CheckInMissed) -> MonitorState:
    schedule = state.schedule
    if schedule is not None:
        schedule = Schedule(schedule.cadence, schedule.basis, event.due_at + schedule.cadence.interval)
    return _with(state, schedule=schedule, consecutive_misses=event.consecutive_misses)


def _relapse(state: MonitorState, event: RelapseReported) -> MonitorState:
    if state.count_start is not None and event.relapsed_on < state.count_start:
        return state  # an earlier relapse told late does not restart the current count
    return _with(state, count_start=event.relapsed_on, milestones_announced=frozenset())


_APPLY: dict[type[DomainEvent], Callable[[MonitorState, Any], MonitorState]] = {
    MonitoringStarted: _started,
    RiskLevelNoted: lambda s, e: _with(s, risk_level=e.risk_level),
    TimeZoneNoted: lambda s, e: _with(s, time_zone=e.time_zone),
    RiskEscalated: lambda s, e: _with(s, risk_level=e.to_level),
    MonitoringEnded: lambda s, e: _with(s, active=False, ended=True, schedule=None),
    CheckInScheduleSet: _schedule_set,
    CheckInCompleted: _completed,
    CheckInMissed: _missed,
    MilestoneReached: lambda s, e: _with(s, milestones_announced=s.milestones_announced | {e.milestone}),
    RelapseReported: _relapse,
}


def evolve(state: MonitorState, event: DomainEvent) -> MonitorState:
    """Fold one event into the state; events of other types change nothing.

    Dispatch is by exact type: ``isinstance`` against pydantic models goes through ABCMeta and
    cost more than the fold itself.
    """
    apply = _APPLY.get(type(event))
    return state if apply is None else apply(state, event)


participant_monitor: Aggregate[MonitorState] = Aggregate("participant-monitor", MonitorState, evolve)
