"""First end-to-end slice of planning: a draft plan when a participant's first assessment arrives.

The full plan aggregate (sections, versions, lifecycle, reviews, education) replaces this module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

import orjson

from shared.catalogue.intake import AssessmentCompleted
from shared.catalogue.planning import PlanCreated
from shared.cloudevents import ReceivedEvent
from shared.domain import Aggregate
from shared.events import DomainEvent
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Plan:
    plan_id: UUID | None = None
    version: int = 0
    status: str = "none"


def evolve(state: Plan, event: DomainEvent) -> Plan:
    if isinstance(event, PlanCreated):
        return replace(state, plan_id=event.plan_id, version=event.version, status=event.status)
    return state


PLAN = Aggregate(stream_type="plan", initial=Plan, evolve=evolve)


def stream_of(participant_id: UUID) -> str:
    return f"plan-{participant_id}"


async def on_intake_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Consumer handler for ``waypoint.intake.v1``."""
    event = received.event
    if not isinstance(event, AssessmentCompleted):
        return

    def decide(state: Plan, _: int) -> list[DomainEvent]:
        if state.plan_id is not None:
            return []
        return [PlanCreated(participant_id=event.participant_id, plan_id=uuid.uuid4(), version=1,
                            status="draft", source_assessment_id=event.assessment_id)]

    state, stored = await uow.execute(PLAN, stream_of(event.participant_id), decide,
                                      agency_id=received.agency_id, participant_id=event.participant_id)
    if stored:
        await uow.conn.execute(
            "INSERT INTO plans (participant_id, agency_id, plan_id, version, status, content, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
            event.participant_id, received.agency_id, state.plan_id, state.version, state.status,
            orjson.dumps({"source_assessment_id": str(event.assessment_id)}).decode(), datetime.now(UTC),
        )
