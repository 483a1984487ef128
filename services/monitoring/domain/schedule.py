"""Check-in cadence: defaults by risk level, due times, missed windows and the miss count.

A schedule is a rolling window. The next check-in is due one interval after the last check-in
(or after the schedule was set); it is missed once its grace period has passed without one.
After a miss the next window starts at the missed due time, so windows stay on a fixed grid
until the participant checks in again. A window is identified by its due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.catalogue.monitoring import RiskLevel, ScheduleBasis


@dataclass(frozen=True)
class Cadence:
    interval: timedelta
    grace: timedelta


DEFAULT_CADENCE: dict[RiskLevel, Cadence] = {
    "critical": Cadence(timedelta(days=1), timedelta(hours=4)),
    "high": Cadence(timedelta(days=1), timedelta(hours=4)),
    "moderate": Cadence(timedelta(days=3), timedelta(hours=12)),
    "low": Cadence(timedelta(days=7), timedelta(days=1)),
}

#: How many missed windows one decision may record; a scheduler catching up after a long
#: outage on a seconds-long schedule continues in the next sweep instead of one huge append.
MAX_WINDOWS_PER_DECISION = 100


def default_cadence(risk_level: RiskLevel) -> Cadence:
    return DEFAULT_CADENCE[risk_level]


@dataclass(frozen=True)
class Schedule:
    cadence: Cadence
    basis: ScheduleBasis
    next_due_at: datetime

    @property
    def deadline(self) -> datetime:
        """When the current window counts as missed: due time plus grace."""
        return self.next_due_at + self.cadence.grace

    def after_check_in(self, at: datetime) -> Schedule:
        return Schedule(self.cadence, self.basis, at + self.cadence.interval)

    def after_miss(self) -> Schedule:
        return Schedule(self.cadence, self.basis, self.next_due_at + self.cadence.interval)


def start_schedule(cadence: Cadence, basis: ScheduleBasis, now: datetime) -> Schedule:
    """A new cadence counts from the moment it is set."""
    return Schedule(cadence, basis, now + cadence.interval)


def missed_due_times(schedule: Schedule, now: datetime, limit: int = MAX_WINDOWS_PER_DECISION) -> list[datetime]:
    """Due times of the windows whose deadline is at or before ``now``, oldest first (at most ``limit``)."""
    due_times: list[datetime] = []
    current = schedule
    while current.deadline <= now and len(due_times) < limit:
        due_times.append(current.next_due_at)
        current = current.after_miss()
    return due_times
