"""The pure parts of the read models: which caseload columns and daily counts an event sets."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.monitoring.projections import caseload, overview
from shared.cloudevents import ReceivedEvent

pytestmark = pytest.mark.unit

PID = uuid.uuid4()
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def received(event_type: str, **data: Any) -> ReceivedEvent:
    return ReceivedEvent(
        event_id=uuid.uuid4(),
        ce_type=f"waypoint.x.{event_type}.v1",
        service="x",
        event_type=event_type,
        schema_version=1,
        agency_id="agency-a",
        participant_id=PID,
        occurred_at=AT,
        correlation_id="c",
        causation_id=None,
        data={"participant_id": str(PID), **data},
        event=None,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (received("ParticipantEnrolled", specialist_id="crs-1"), {"specialist_id": "crs-1", "monitored_since": AT}),
        (received("SpecialistUnassigned", previous_specialist_id="crs-1"), {"specialist_id": None}),
        (received("RiskLevelChanged", risk_level="high"), {"risk_level": "high", "assessed": True}),
        (received("RiskEscalated", to_level="critical"), {"risk_level": "critical"}),
        (received("CheckInMissed", consecutive_misses=3), {"consecutive_misses": 3}),
        (received("ParticipantDischarged", reason="moved_away"), {"discharged": True}),
        (received("PlanCreated", version=1), None),
    ],
)
def test_which_caseload_columns_an_event_sets(event: ReceivedEvent, expected: dict | None) -> None:
    assert caseload.changes(event) == expected


def test_a_check_in_resets_the_misses_and_records_when_and_how_strong_the_craving_was() -> None:
    event = received("CheckInCompleted", completed_at=AT.isoformat(), craving=6, next_due_at=None)
    assert caseload.changes(event) == {
        "consecutive_misses": 0,
        "last_check_in_at": AT,
        "last_craving": 6,
        "next_due_at": None,
    }


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (
            received("CheckInMissed", detected_at="2026-03-02T09:00:05+00:00"),
            ("agency-a", date(2026, 3, 2), "missed_check_ins"),
        ),
        (received("MilestoneReached", reached_on="2026-02-28"), ("agency-a", date(2026, 2, 28), "milestones")),
        (received("HelpRequested"), ("agency-a", date(2026, 3, 2), "help_requests")),
        (received("PlanCreated"), None),
    ],
)
def test_which_daily_count_an_event_adds_to(event: ReceivedEvent, key: tuple | None) -> None:
    assert overview.count_key(event) == key
