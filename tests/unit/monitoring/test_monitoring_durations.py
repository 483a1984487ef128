from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.monitoring.domain.durations import format_duration, parse_duration, parse_interval
from shared.domain import InvalidCommand

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1S", timedelta(seconds=1)),
        ("PT5S", timedelta(seconds=5)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT0,5S", timedelta(seconds=0.5)),
        ("PT30M", timedelta(minutes=30)),
        ("PT4H", timedelta(hours=4)),
        ("P1D", timedelta(days=1)),
        ("P3DT12H", timedelta(days=3, hours=12)),
        ("P1W", timedelta(weeks=1)),
        ("pt10s", timedelta(seconds=10)),
        ("PT0S", timedelta(0)),
    ],
)
def test_accepts_iso_8601_durations_down_to_seconds(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "5", "1 day", "10:00:00", "P1M", "P1Y", "-PT5S", "PT5", "P1W2D", "PTS", "garbage", "P400D"],
)
def test_rejects_malformed_calendar_or_oversized_durations(text: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        parse_duration(text, field="grace")
    assert error.value.field == "grace"


@pytest.mark.parametrize("text", ["PT0S", "PT0.5S", "PT0.999S"])
def test_an_interval_shorter_than_one_second_is_refused(text: str) -> None:
    with pytest.raises(InvalidCommand, match="shorter than one second"):
        parse_interval(text)


def test_an_interval_of_exactly_one_second_is_allowed() -> None:
    assert parse_interval("PT1S") == timedelta(seconds=1)


@given(st.integers(min_value=0, max_value=366 * 86400), st.integers(min_value=0, max_value=999_999))
def test_formatting_then_parsing_gives_back_the_same_duration(seconds: int, micros: int) -> None:
    value = timedelta(seconds=seconds, microseconds=micros)
    if value > timedelta(days=366):
        return
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(days=3), "P3D"), (timedelta(hours=4), "PT4H"), (timedelta(seconds=5), "PT5S"), (timedelta(0), "PT0S")],
)
def test_formats_the_canonical_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
