from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

import shared.catalogue  # noqa: F401  (registers every event type)
from services.monitoring.domain.commands import RequestHelp
from services.monitoring.domain.participant_monitor import decide_record_check_in, decide_request_help
from services.monitoring.domain.timeline import describe, words
from shared.catalogue.monitoring import ContactLogged, MilestoneReached, RelapseReported, TimeZoneNoted
from shared.events import registered_events

from .helpers import PARTICIPANT, SECOND, T0, check_in, every, given, started

pytestmark = pytest.mark.unit


def payload(event: Any) -> dict[str, Any]:
    return event.model_dump(mode="json")


def monitoring_samples() -> list[Any]:
    state = given(started(risk="moderate"), every(5 * SECOND))
    events = decide_record_check_in(
        state, check_in(craving=9, used_since_last_check_in=True, substances_used=["opioids"]), T0 + 11 * SECOND
    )
    events += decide_request_help(state, RequestHelp(participant_id=PARTICIPANT, help_request_id=uuid.uuid4()), T0)
    return [
        *started(risk="high"),
        every(5 * SECOND),
        *events,
        MilestoneReached(
            participant_id=PARTICIPANT,
            milestone="30-days",
            days=30,
            reached_on=date(2026, 3, 1),
            counted_from=date(2026, 1, 30),
        ),
        RelapseReported(
            participant_id=PARTICIPANT,
            relapse_id=uuid.uuid4(),
            relapsed_on=date(2026, 3, 1),
            reported_by="participant",
            reported_at=T0,
        ),
        ContactLogged(
            participant_id=PARTICIPANT,
            contact_id=uuid.uuid4(),
            specialist_id="crs-1",
            channel="in_person",
            direction="outbound",
            outcome="reached",
            occurred_at=T0,
        ),
        TimeZoneNoted(participant_id=PARTICIPANT, time_zone="America/New_York", noted_at=T0),
    ]


def test_every_monitoring_event_gets_its_own_line() -> None:
    samples = monitoring_samples()
    seen = {type(e).__name__ for e in samples}
    assert seen >= {
        "CheckInScheduleSet",
        "CheckInCompleted",
        "CheckInMissed",
        "RiskEscalated",
        "HelpRequested",
        "MilestoneReached",
        "RelapseReported",
        "ContactLogged",
        "MonitoringStarted",
        "RiskLevelNoted",
        "TimeZoneNoted",
    }
    for e in samples:
        line = describe(type(e).__name__, payload(e))
        assert line != words(type(e).__name__).capitalize(), line


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        (
            "CheckInMissed",
            {"due_at": "2026-03-02T09:00:05+00:00", "consecutive_misses": 2},
            "Missed check-in due 2026-03-02 09:00 UTC (2 in a row)",
        ),
        (
            "CheckInMissed",
            {"due_at": "2026-03-02T09:00:05+00:00", "consecutive_misses": 1},
            "Missed check-in due 2026-03-02 09:00 UTC",
        ),
        (
            "CheckInCompleted",
            {"craving": 3, "mood": 4, "used_since_last_check_in": False},
            "Check-in: craving 3/10, mood 4/5, no use reported",
        ),
        (
            "CheckInScheduleSet",
            {"interval": "P1D", "grace": "PT4H", "basis": "risk_default", "next_due_at": "2026-03-03T09:00:00Z"},
            "Check-ins every 1 day (default for risk level), grace 4 hours; next due 2026-03-03 09:00 UTC",
        ),
        ("RiskLevelChanged", {"previous_level": "low", "risk_level": "high"}, "Risk level from low to high"),
        ("waypoint.intake.ParticipantDischarged.v1", {"reason": "plan_completed"}, "Discharged (plan completed)"),
        ("MilestoneReached", {"milestone": "1-year"}, "Milestone: 1 year in recovery"),
    ],
)
def test_lines_read_as_plain_sentences(event_type: str, data: dict[str, Any], expected: str) -> None:
    assert describe(event_type, data) == expected


def test_an_unknown_event_type_gets_a_generic_line() -> None:
    assert describe("SomethingNewHappened", {"x": 1}) == "Something new happened"


@pytest.mark.parametrize("name", sorted(registered_events()))
def test_no_registered_event_breaks_the_timeline_even_with_an_empty_payload(name: str) -> None:
    assert describe(name, {})


def test_durations_read_in_the_largest_whole_unit() -> None:
    line = describe("CheckInScheduleSet", payload(every(timedelta(weeks=1), timedelta(hours=36))))
    assert "every 1 week" in line and "grace 36 hours" in line
