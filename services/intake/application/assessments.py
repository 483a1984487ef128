"""Recording an assessment: the events (completed, risk change, safety concern, co-occurring
flags) and the record with the raw answers are written in one transaction."""

from __future__ import annotations

from datetime import datetime

from services.intake.adapters import records
from services.intake.application.participants import on_participant
from services.intake.domain.assessing import decide_record_assessment
from services.intake.domain.assessment import RecordAssessment, score_assessment
from shared.catalogue.intake import AssessmentCompleted
from shared.events import DomainEvent
from shared.uow import UnitOfWork


async def record_assessment(
    cmd: RecordAssessment, uow: UnitOfWork, agency_id: str, now: datetime
) -> tuple[AssessmentCompleted, list[DomainEvent]]:
    """Returns the ``AssessmentCompleted`` event and every event decided with it."""
    _, stored = await on_participant(
        uow, cmd.participant_id, agency_id, lambda s: decide_record_assessment(s, cmd, now)
    )
    events = [s.event for s in stored]
    completed = events[0]
    assert isinstance(completed, AssessmentCompleted)
    await records.insert_assessment(
        uow.conn,
        score_assessment(cmd),
        agency_id,
        uow.metadata.actor,
        (completed.risk_level, list(completed.risk_reasons)),
        now,
    )
    return completed, events
