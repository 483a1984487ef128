"""Days in recovery and milestones, as a participant sees them (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.monitoring.domain.milestones import Milestone, milestones_between


@dataclass(frozen=True)
class RecoveryProgress:
    """The current count: from the recovery start date or the day of the last reported relapse."""

    counting_from: date | None
    today: date
    days_in_recovery: int | None
    reached: tuple[Milestone, ...]
    next: Milestone | None


def recovery_progress(counting_from: date | None, today: date) -> RecoveryProgress:
    """Where the participant stands on ``today`` (their local date).

    No count known: no days and no milestones. A count that starts after today (a date entered
    ahead) has 0 days so far and its first milestone next.
    """
    if counting_from is None:
        return RecoveryProgress(None, today, None, (), None)
    reached = tuple(milestones_between(counting_from, None, today))
    horizon = max(today, counting_from) + timedelta(days=400)
    upcoming = milestones_between(counting_from, today, horizon)
    return RecoveryProgress(
        counting_from,
        today,
        max(0, (today - counting_from).days),
        reached,
        min(upcoming, key=lambda m: m.reached_on, default=None),
    )
