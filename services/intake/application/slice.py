"""First end-to-end slice of intake: enrol a participant, record a PHQ-9 assessment.

The full participant aggregate (transfer, queue, discharge, every instrument, consent) replaces
this module; it exists so the backbone can be exercised across all four services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain.instruments import Phq9Answers, score_phq9
from shared.catalogue.intake import AssessmentCompleted, ParticipantEnrolled
from shared.domain import Aggregate, Conflict, NotFound
from shared.events import DomainEvent
from shared.uow import UnitOfWork


class EnrolParticipant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    display_name: str = Field(min_length=1, max_length=200)
    specialist_id: str | None = Field(default=None, max_length=200)
    recovery_start_date: date | None = None
    primary_substances: tuple[str, ...] = ()
    preferred_channel: str | None = None


class RecordPhq9(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    phq9: Phq9Answers


@dataclass(frozen=True)
class Participant:
    enrolled: bool = False
    risk_level: str | None = None


def evolve(state: Participant, event: DomainEvent) -> Participant:
    if isinstance(event, ParticipantEnrolled):
        return replace(state, enrolled=True)
    if isinstance(event, AssessmentCompleted):
        return replace(state, risk_level=event.risk_level)
    return state


PARTICIPANT = Aggregate(stream_type="participant", initial=Participant, evolve=evolve)


def stream_of(participant_id: UUID) -> str:
    return f"participant-{participant_id}"


async def enrol_participant(cmd: EnrolParticipant, uow: UnitOfWork, agency_id: str) -> UUID:
    participant_id = uuid.uuid4()
    now = datetime.now(UTC)

    def decide(state: Participant, _: int) -> list[DomainEvent]:
        if state.enrolled:
            raise Conflict("participant already enrolled")
        return [
            ParticipantEnrolled(
                participant_id=participant_id,
                specialist_id=cmd.specialist_id,
                recovery_start_date=cmd.recovery_start_date,
                primary_substances=cmd.primary_substances,
                preferred_channel=cmd.preferred_channel,
                enrolled_at=now,
            )
        ]

    await uow.execute(PARTICIPANT, stream_of(participant_id), decide, agency_id=agency_id,
                      participant_id=participant_id)
    await uow.conn.execute(
        "INSERT INTO participants (participant_id, agency_id, specialist_id, status, display_name, enrolled_at)"
        " VALUES ($1, $2, $3, 'active', $4, $5)",
        participant_id, agency_id, cmd.specialist_id, cmd.display_name, now,
    )
    return participant_id


async def record_phq9(participant_id: UUID, cmd: RecordPhq9, uow: UnitOfWork, agency_id: str) -> UUID:
    owner = await uow.conn.fetchval(
        "SELECT agency_id FROM participants WHERE participant_id = $1", participant_id
    )
    if owner != agency_id:  # another agency's participant looks exactly like no participant
        raise NotFound("no such participant")
    assessment_id = uuid.uuid4()
    result = score_phq9(cmd.phq9)
    risk = "critical" if result.item9 > 0 else ("moderate" if result.total >= 10 else "low")

    def decide(state: Participant, _: int) -> list[DomainEvent]:
        if not state.enrolled:
            raise NotFound("no such participant")
        return [
            AssessmentCompleted(
                participant_id=participant_id, assessment_id=assessment_id, instruments=("PHQ-9",),
                phq9=result, risk_level=risk, completed_at=datetime.now(UTC),
            )
        ]

    await uow.execute(PARTICIPANT, stream_of(participant_id), decide, agency_id=agency_id,
                      participant_id=participant_id)
    return assessment_id
