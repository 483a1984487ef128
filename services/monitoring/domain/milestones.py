"""Recovery milestones: 1, 7, 30, 60, 90 and 180 days, then every year, once each per count.

The count runs from the recovery start date or the day of the last reported relapse. Years are
calendar anniversaries (a count started on 29 February reaches its anniversary on 28 February in
common years), so "1 year" may be 365 or 366 days. Dates are calendar dates where the
participant lives (their time zone, UTC when none is known): a milestone is reached when its
date begins there (:func:`day_starts_at`), and the day count is calendar arithmetic, so a change
of clocks (DST) never moves a milestone to another date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from shared.time_zones import zone_of

DAY_MILESTONES = (1, 7, 30, 60, 90, 180)


@dataclass(frozen=True)
class Milestone:
    key: str
    reached_on: date
    days: int


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year
        return start.replace(year=start.year + years, day=28)


def _label(days: int) -> str:
    return "1-day" if days == 1 else f"{days}-days"


def milestones_between(start: date, after: date | None, until: date) -> list[Milestone]:
    """Milestones of a count from ``start`` reached after ``after`` (exclusive) up to ``until`` (inclusive).

    ``after=None`` means from the start. Oldest first.
    """
    found: list[Milestone] = []
    for days in DAY_MILESTONES:
        on = date.fromordinal(start.toordinal() + days)
        found.append(Milestone(_label(days), on, days))
    years = 1
    while True:
        on = _anniversary(start, years)
        if on > until:
            break
        found.append(Milestone("1-year" if years == 1 else f"{years}-years", on, (on - start).days))
        years += 1
    return [m for m in found if m.reached_on <= until and (after is None or m.reached_on > after)]


def due_milestones(start: date, today: date, already: frozenset[str]) -> list[Milestone]:
    """Milestones reached by ``today`` and not yet announced, oldest first."""
    return [m for m in milestones_between(start, None, today) if m.key not in already]


def next_milestone_on(start: date, already: frozenset[str], today: date) -> date | None:
    """The date of the next milestone not yet announced (to schedule the next check).

    None only when the count starts more than a year from ``today`` (a date entered ahead).
    """
    horizon = max(today, start) + timedelta(days=400)
    pending = [m for m in milestones_between(start, None, horizon) if m.key not in already]
    return min((m.reached_on for m in pending), default=None)


def day_starts_at(day: date, time_zone: str | None) -> datetime:
    """The instant (UTC) at which ``day`` begins in ``time_zone`` (None: UTC).

    Local midnight; where a change of clocks skips midnight (a zone moving to summer time at
    00:00), the moment the clocks jump, which is when the date begins there. Where midnight
    happens twice, the first one.
    """
    return datetime.combine(day, time(), tzinfo=zone_of(time_zone)).astimezone(UTC)
