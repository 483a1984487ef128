"""Recording an assessment: the events (completed, risk change, safety concern, co-occurring
flags) and the record with the raw answers are written in one transaction."""

from __future__ import annotations

from services.intake.adapters.tables import Tables
from services.intake.application.participants import on_participant
from services.intake.domain.assessing import decide_record_assessment
from services.intake.domain.assessment import RecordAssessment, score_assessment
from shared.catalogue.intake import AssessmentCompleted
from shared.events import DomainEvent
from shared.uow import UnitOfWork


async def record_assessment(
    cmd: RecordAssessment, uow: UnitOfWork
) -> tuple[AssessmentCompleted, list[DomainEvent]]:
    """Returns the ``AssessmentCompleted`` event and every event decided with it."""
    changed = await on_participant(uow, cmd.participant_id, lambda s: decide_record_assessment(s, cmd, uow.now))
    events = changed.events
    completed = events[0]
    assert isinstance(completed, AssessmentCompleted)
    tables: Tables = uow.tables
    await tables.insert_assessment(
        score_assessment(cmd), uow.caller_agency, uow.actor, (completed.risk_level, list(completed.risk_reasons)),
        uow.now,
    )
    return completed, events
