"""Planning's consumers: translate other services' events into plain facts and apply the policies.

The translation lives here (not in the domain) so that the policies never depend on another
service's classes. Each handler runs once per event id (inbox) inside the consumer's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.planning.adapters.plan_repository import decide_plan
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
from services.planning.projections.current_plan import record_discharge, record_enrolment
from shared.catalogue.intake import AssessmentCompleted, ParticipantDischarged, ParticipantEnrolled, RiskLevelChanged
from shared.catalogue.monitoring import RelapseReported
from shared.cloudevents import ReceivedEvent
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


async def on_intake_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Enrolment and discharge keep the participant list; assessments and risk changes drive plans."""
    event, agency, now = received.event, received.agency_id, datetime.now(UTC)
    match event:
        case ParticipantEnrolled():
            await record_enrolment(uow.conn, event.participant_id, agency, event.enrolled_at)
        case AssessmentCompleted():
            facts = assessment_facts(event)
            await decide_plan(
                uow, event.participant_id, agency, lambda s: when_assessment_completed(s, facts, now), now
            )
        case RiskLevelChanged():
            change = RiskLevelFacts(event.participant_id, event.assessment_id, event.risk_level.value, event.changed_at)
            await decide_plan(uow, event.participant_id, agency, lambda s: when_risk_level_changed(s, change, now), now)
        case ParticipantDischarged():
            await record_discharge(uow.conn, event.participant_id, agency, event.discharged_at)
            discharge = DischargeFacts(event.participant_id, event.discharged_at)
            await decide_plan(
                uow, event.participant_id, agency, lambda s: when_participant_discharged(s, discharge, now), now
            )
        case _:
            return


async def on_monitoring_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """A reported relapse asks for an urgent plan review."""
    event, now = received.event, datetime.now(UTC)
    if isinstance(event, RelapseReported):
        relapse = RelapseFacts(event.participant_id, event.relapse_id, event.reported_at)
        await decide_plan(
            uow, event.participant_id, received.agency_id, lambda s: when_relapse_reported(s, relapse, now), now
        )
