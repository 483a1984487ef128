"""Days in recovery and milestones as the participant's page shows them."""

from datetime import date

import pytest

from services.monitoring.domain.recovery import recovery_progress

pytestmark = pytest.mark.unit


def test_days_count_from_the_start_and_list_the_milestones_reached_so_far():
    progress = recovery_progress(date(2026, 1, 1), date(2026, 2, 5))
    assert progress.days_in_recovery == 35
    assert [m.key for m in progress.reached] == ["1-day", "7-days", "30-days"]
    assert (progress.next.key, progress.next.reached_on, progress.next.days) == ("60-days", date(2026, 3, 2), 60)


def test_the_start_day_itself_is_day_zero_and_the_first_milestone_is_tomorrow():
    progress = recovery_progress(date(2026, 3, 1), date(2026, 3, 1))
    assert progress.days_in_recovery == 0 and progress.reached == ()
    assert progress.next.key == "1-day" and progress.next.reached_on == date(2026, 3, 2)


def test_after_half_a_year_the_next_milestone_is_the_first_anniversary():
    progress = recovery_progress(date(2025, 6, 1), date(2026, 1, 10))
    assert [m.key for m in progress.reached][-1] == "180-days"
    assert progress.next.key == "1-year" and progress.next.reached_on == date(2026, 6, 1)


def test_a_start_entered_ahead_has_no_days_yet():
    progress = recovery_progress(date(2026, 5, 10), date(2026, 5, 1))
    assert progress.days_in_recovery == 0 and progress.reached == ()
    assert progress.next.key == "1-day" and progress.next.reached_on == date(2026, 5, 11)


def test_no_known_start_means_no_count():
    progress = recovery_progress(None, date(2026, 5, 1))
    assert (progress.days_in_recovery, progress.reached, progress.next) == (None, (), None)
