"""Builders for intake's unit tests: valid orders with overridable parts, and given/when/then."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from services.intake.domain.assessment import RecordAssessment
from services.intake.domain.consent_terms import GrantConsent
from services.intake.domain.enrolment import EnrolParticipant
from shared.domain import Aggregate
from shared.events import DomainEvent

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RECOVERY_START = date(2026, 3, 1)  # 270 days before NOW: no early-recovery point
S = TypeVar("S")
C = TypeVar("C")


def enrol_order(**overrides: Any) -> EnrolParticipant:
    data: dict[str, Any] = {
        "participant_id": uuid4(),
        "specialist_id": "spec-1",
        "recovery_start_date": RECOVERY_START,
        "primary_substances": ["alcohol"],
        "preferred_channel": "sms",
        "preferred_hours": {"start": "09:00", "end": "17:00"},
        "contact": {"given_name": "Robin", "family_name": "Example", "phone": "+15550100"},
        "support_contacts": [
            {
                "name": "Sam Sponsor",
                "relation": "sponsor",
                "channel": "email",
                "email": "sam@example.org",
                "consent_to_contact": True,
            }
        ],
    }
    data.update(overrides)
    return EnrolParticipant.model_validate(data)


def assessment_order(participant_id: UUID, **sections: Any) -> RecordAssessment:
    return RecordAssessment.model_validate({"participant_id": participant_id, **sections})


def consent_order(participant_id: UUID, **overrides: Any) -> GrantConsent:
    data: dict[str, Any] = {
        "participant_id": participant_id,
        "disclosing_agency_id": "agency-a",
        "information": ["assessment_scores", "risk_level"],
        "recipients": {"kind": "named_agency", "agency_ids": ["agency-mh"]},
        "purposes": ["mental_health_referral"],
        "right_to_revoke_acknowledged": True,
        "expiry": {"on": "2027-06-30"},
        "signature": {"signed_by": "Robin Example", "method": "electronic", "signed_on": "2026-11-26"},
    }
    data.update(overrides)
    return GrantConsent.model_validate(data)


def phq9(*answers: int) -> dict[str, Any]:
    return {"answers": list(answers)}


def when(
    aggregate: Aggregate[S],
    given: Sequence[DomainEvent],
    decide: Callable[[S, C, datetime], list[DomainEvent]],
    command: C,
    now: datetime = NOW,
) -> list[DomainEvent]:
    """Fold the given history, then decide the command: the events it would append."""
    return decide(aggregate.fold(given), command, now)
