"""Events published by the planning service on ``waypoint.planning.v1``."""

from __future__ import annotations

from uuid import UUID

from shared.events import DomainEvent, event


@event("planning")
class PlanCreated(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    version: int
    status: str
    source_assessment_id: UUID | None = None
