"""Events published by the intake service on ``waypoint.intake.v1``.

No direct identifiers: names, contact details and free-text notes stay in intake's database.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, event


@event("intake")
class ParticipantEnrolled(DomainEvent):
    participant_id: UUID
    specialist_id: str | None = None
    recovery_start_date: date | None = None
    primary_substances: tuple[str, ...] = ()
    preferred_channel: str | None = None
    enrolled_at: datetime


class Phq9Result(BaseModel):
    model_config = ConfigDict(frozen=True)
    total: int
    severity: str
    item9: int


@event("intake")
class AssessmentCompleted(DomainEvent):
    participant_id: UUID
    assessment_id: UUID
    instruments: tuple[str, ...]
    phq9: Phq9Result | None = None
    risk_level: str
    completed_at: datetime
