"""Planning's consumers: translate other services' events into plain facts and apply the policies.

The translation lives here (not in the domain) so that the policies never depend on another
service's classes. Each handler runs once per event id (inbox) inside the consumer's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from services.planning.adapters.streams import plans
from services.planning.adapters.tables import Tables
from services.planning.domain.policies import (
    DischargeFacts,
    RelapseFacts,
    RiskLevelFacts,
    when_assessment_completed,
    when_participant_discharged,
    when_relapse_reported,
    when_risk_level_changed,
)
from services.planning.domain.seeding import AssessmentFacts, TriggerFacts
from services.planning.domain.state import PlanState
from shared.catalogue.intake import AssessmentCompleted, ParticipantDischarged, ParticipantEnrolled, RiskLevelChanged
from shared.catalogue.monitoring import RelapseReported
from shared.cloudevents import ReceivedEvent
from shared.events import DomainEvent
from shared.uow import UnitOfWork


def assessment_facts(e: AssessmentCompleted) -> AssessmentFacts:
    return AssessmentFacts(
        participant_id=e.participant_id,
        assessment_id=e.assessment_id,
        risk_level=str(e.risk_level),
        completed_at=e.completed_at,
        triggers=tuple(TriggerFacts(t.trigger_id, tuple(s.value for s in t.situations)) for t in e.triggers),
        bam_protective_subscale=e.bam.protective_factors if e.bam else None,
        barc10_total=e.barc10.total if e.barc10 else None,
    )


#: what on_intake_event acts on (the consumer skips every other type before touching the database)
INTAKE_EVENTS = frozenset({"ParticipantEnrolled", "AssessmentCompleted", "RiskLevelChanged", "ParticipantDischarged"})


async def _on_plan(
    uow: UnitOfWork, received: ReceivedEvent, participant_id: UUID, decide: Callable[[PlanState], Sequence[DomainEvent]]
) -> None:
    await plans.execute(uow, participant_id, decide, participant_id=participant_id, agency_id=received.agency_id)


async def on_intake_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Enrolment and discharge keep the participant list; assessments and risk changes drive plans."""
    event, agency, now = received.event, received.agency_id, uow.now
    tables: Tables = uow.tables
    match event:
        case ParticipantEnrolled():
            await tables.record_enrolment(event.participant_id, agency, event.enrolled_at)
        case AssessmentCompleted():
            facts = assessment_facts(event)
            await _on_plan(uow, received, event.participant_id, lambda s: when_assessment_completed(s, facts, now))
        case RiskLevelChanged():
            change = RiskLevelFacts(event.participant_id, event.assessment_id, event.risk_level.value, event.changed_at)
            await _on_plan(uow, received, event.participant_id, lambda s: when_risk_level_changed(s, change, now))
        case ParticipantDischarged():
            await tables.record_discharge(event.participant_id, agency, event.discharged_at)
            discharge = DischargeFacts(event.participant_id, event.discharged_at)
            await _on_plan(
                uow, received, event.participant_id, lambda s: when_participant_discharged(s, discharge, now)
            )
        case _:
            return


async def on_monitoring_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """A reported relapse asks for an urgent plan review."""
    event, now = received.event, uow.now
    if isinstance(event, RelapseReported):
        relapse = RelapseFacts(event.participant_id, event.relapse_id, event.reported_at)
        await _on_plan(uow, received, event.participant_id, lambda s: when_relapse_reported(s, relapse, now))
