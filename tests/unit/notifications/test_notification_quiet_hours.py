from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.domain.quiet_hours import QuietHours, send_time
from services.notifications.domain.vocabulary import Urgency
from shared.domain import InvalidCommand

pytestmark = pytest.mark.unit


def utc(h: int, m: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "instant", "expected"),
    [
        ("22:00-07:00", utc(23), utc(7, day=3)),  # wraps midnight: wait until tomorrow 07:00
        ("22:00-07:00", utc(3), utc(7)),
        ("22:00-07:00", utc(22), utc(7, day=3)),  # the start belongs to the window
        ("22:00-07:00", utc(7), utc(7)),  # the end does not: send at once
        ("22:00-07:00", utc(12), utc(12)),
        ("12:30-13:30", utc(13), utc(13, 30)),
        ("12:30-13:30", utc(14), utc(14)),
    ],
)
def test_next_allowed_send_time(window, instant, expected):
    assert QuietHours.parse(window).next_allowed(instant) == expected


def test_quiet_hours_are_read_in_the_recipients_time_zone():
    quiet = QuietHours.parse("22:00-07:00", "America/New_York")
    # 03:00 UTC on 2 March is 22:00 in New York (UTC-5): quiet until 07:00 local = 12:00 UTC.
    assert quiet.next_allowed(utc(3)) == utc(12)
    assert quiet.next_allowed(utc(13)) == utc(13)


@pytest.mark.parametrize(("urgency", "expected"), [(Urgency.URGENT, utc(23)), (Urgency.ROUTINE, utc(7, day=3))])
def test_urgent_messages_never_wait_and_routine_ones_do(urgency, expected):
    assert send_time(urgency, QuietHours.parse("22:00-07:00"), utc(23)) == expected


def test_without_quiet_hours_everything_goes_at_once():
    assert send_time(Urgency.ROUTINE, None, utc(23)) == utc(23)


@pytest.mark.parametrize(
    ("window", "zone", "field"),
    [
        ("22-07", "UTC", "quiet_hours"),
        ("24:00-07:00", "UTC", "quiet_hours"),
        ("22:60-07:00", "UTC", "quiet_hours"),
        ("22:00-22:00", "UTC", "quiet_hours"),
        ("", "UTC", "quiet_hours"),
        ("22:00-07:00", "Mars/Olympus", "time_zone"),
        ("22:00-07:00", "../etc/passwd", "time_zone"),
    ],
)
def test_quiet_hours_that_do_not_parse_are_rejected_naming_the_field(window, zone, field):
    with pytest.raises(InvalidCommand) as error:
        QuietHours.parse(window, zone)
    assert error.value.field == field


windows = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59)).filter(
    lambda t: t[:2] != t[2:]
)
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@settings(deadline=None)  # a busy CI machine must not turn slowness into failure
@given(window=windows, instant=instants, zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"]))
def test_the_next_allowed_time_is_never_early_never_quiet_and_within_a_day(window, instant, zone):
    h1, m1, h2, m2 = window
    quiet = QuietHours.parse(f"{h1:02}:{m1:02}-{h2:02}:{m2:02}", zone)
    allowed = quiet.next_allowed(instant)
    assert instant <= allowed <= instant + timedelta(hours=25)
    assert not quiet.contains(allowed)
    assert allowed.astimezone(ZoneInfo(zone)).tzinfo is not None
