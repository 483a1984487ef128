from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.monitoring.domain.schedule import (
    Cadence,
    Schedule,
    default_cadence,
    missed_due_times,
    start_schedule,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("risk", "interval"),
    [
        ("critical", timedelta(days=1)),
        ("high", timedelta(days=1)),
        ("moderate", timedelta(days=3)),
        ("low", timedelta(weeks=1)),
    ],
)
def test_default_cadence_follows_the_risk_level(risk: str, interval: timedelta) -> None:
    assert default_cadence(risk).interval == interval  # type: ignore[arg-type]


def test_a_new_schedule_is_due_one_interval_after_it_was_set() -> None:
    schedule = start_schedule(Cadence(timedelta(seconds=5), timedelta(seconds=2)), "custom", T0)
    assert schedule.next_due_at == T0 + timedelta(seconds=5)
    assert schedule.deadline == T0 + timedelta(seconds=7)


def test_nothing_is_missed_before_the_grace_period_ends() -> None:
    schedule = Schedule(Cadence(timedelta(seconds=5), timedelta(seconds=2)), "custom", T0)
    assert missed_due_times(schedule, T0 + timedelta(seconds=1.999)) == []
    assert missed_due_times(schedule, T0 + timedelta(seconds=2)) == [T0]


def test_windows_missed_during_an_outage_are_each_listed_once_on_the_grid() -> None:
    schedule = Schedule(Cadence(timedelta(seconds=10), timedelta(seconds=1)), "custom", T0)
    missed = missed_due_times(schedule, T0 + timedelta(seconds=35))
    assert missed == [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20), T0 + timedelta(seconds=30)]


def test_catching_up_is_capped_per_decision() -> None:
    schedule = Schedule(Cadence(timedelta(seconds=1), timedelta(0)), "custom", T0)
    assert len(missed_due_times(schedule, T0 + timedelta(hours=1), limit=100)) == 100


@given(
    interval_s=st.integers(min_value=1, max_value=3600),
    grace_s=st.integers(min_value=0, max_value=3600),
    elapsed_s=st.integers(min_value=0, max_value=20_000),
)
def test_missed_windows_are_exactly_those_whose_deadline_passed(interval_s: int, grace_s: int, elapsed_s: int) -> None:
    cadence = Cadence(timedelta(seconds=interval_s), timedelta(seconds=grace_s))
    schedule = Schedule(cadence, "custom", T0)
    now = T0 + timedelta(seconds=elapsed_s)
    missed = missed_due_times(schedule, now, limit=10**6)
    expected = 0 if elapsed_s < grace_s else (elapsed_s - grace_s) // interval_s + 1
    assert len(missed) == expected
    assert all(due + cadence.grace <= now for due in missed)
    assert len(set(missed)) == len(missed)
