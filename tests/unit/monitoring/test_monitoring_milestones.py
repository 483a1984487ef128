from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.monitoring.domain.milestones import due_milestones, milestones_between, next_milestone_on

pytestmark = pytest.mark.unit

START = date(2025, 1, 10)


def keys(start: date, today: date, already: frozenset[str] = frozenset()) -> list[str]:
    return [m.key for m in due_milestones(start, today, already)]


@pytest.mark.parametrize(
    ("days_in", "expected"),
    [
        (0, []),
        (1, ["1-day"]),
        (6, ["1-day"]),
        (7, ["1-day", "7-days"]),
        (30, ["1-day", "7-days", "30-days"]),
        (181, ["1-day", "7-days", "30-days", "60-days", "90-days", "180-days"]),
    ],
)
def test_day_milestones_reached_by_a_date(days_in: int, expected: list[str]) -> None:
    assert keys(START, START + timedelta(days=days_in)) == expected


def test_years_are_calendar_anniversaries() -> None:
    reached = milestones_between(START, date(2027, 1, 9), date(2028, 1, 10))
    assert [(m.key, m.reached_on) for m in reached] == [("2-years", date(2027, 1, 10)), ("3-years", date(2028, 1, 10))]


def test_a_count_started_on_29_february_has_its_anniversary_on_28_february_in_common_years() -> None:
    reached = milestones_between(date(2024, 2, 29), date(2025, 2, 1), date(2025, 3, 1))
    assert [(m.key, m.reached_on, m.days) for m in reached] == [("1-year", date(2025, 2, 28), 365)]


def test_milestones_already_announced_are_not_due_again() -> None:
    today = START + timedelta(days=8)
    assert keys(START, today, frozenset({"1-day", "7-days"})) == []


def test_a_later_yearly_milestone_is_due_once_the_earlier_ones_are_announced() -> None:
    already = frozenset({"1-day", "7-days", "30-days", "60-days", "90-days", "180-days", "1-year"})
    assert keys(START, date(2027, 1, 10), already) == ["2-years"]


def test_the_next_milestone_date_skips_announced_ones() -> None:
    assert next_milestone_on(START, frozenset({"1-day"}), START + timedelta(days=2)) == START + timedelta(days=7)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=0, max_value=3000),
)
def test_announcing_in_two_sweeps_gives_the_same_milestones_as_one(start: date, split: int, total: int) -> None:
    middle = start + timedelta(days=min(split, total))
    end = start + timedelta(days=total)
    first = due_milestones(start, middle, frozenset())
    second = due_milestones(start, end, frozenset(m.key for m in first))
    assert first + second == due_milestones(start, end, frozenset())
    assert len({m.key for m in first + second}) == len(first) + len(second)


def test_a_count_starting_in_the_future_still_has_a_next_milestone_date() -> None:
    start = date(2030, 1, 1)
    assert next_milestone_on(start, frozenset(), date(2026, 3, 2)) == date(2030, 1, 2)
