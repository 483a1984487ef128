"""The plan aggregate's state and how each stored event changes it (one plan per participant)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID, uuid5

from services.planning.domain.lifecycle import OPEN_PLAN_STATUSES
from services.planning.domain.recorded import PlanDocument, PlanRiskLevelNoted, PlanVersionRecorded
from shared.catalogue.planning import (
    PlanCreated,
    PlanReviewRequested,
    PlanStatus,
    PlanUpdated,
    ReviewUrgency,
)
from shared.domain import Aggregate
from shared.events import DomainEvent

PLAN_NAMESPACE = UUID("6a4f0f8e-2b0d-4c53-9d0e-7f6d8a1c5b21")


def plan_id_for(participant_id: UUID) -> UUID:
    """A participant's plan id. Deterministic, so two racing drafts collide on the same stream."""
    return uuid5(PLAN_NAMESPACE, str(participant_id))


@dataclass(frozen=True)
class OpenReview:
    review_id: UUID
    urgency: ReviewUrgency
    due_on: date


@dataclass(frozen=True)
class PlanState:
    plan_id: UUID | None = None
    participant_id: UUID | None = None
    version: int = 0
    document: PlanDocument | None = None
    risk_level: str | None = None
    risk_sources: frozenset[UUID] = frozenset()
    open_reviews: tuple[OpenReview, ...] = ()
    review_causes: frozenset[UUID] = frozenset()

    @property
    def exists(self) -> bool:
        return self.document is not None

    @property
    def status(self) -> PlanStatus | None:
        return None if self.document is None else self.document.status


def initial() -> PlanState:
    return PlanState()


def evolve(state: PlanState, e: DomainEvent) -> PlanState:
    match e:
        case PlanCreated():
            return replace(state, plan_id=e.plan_id, participant_id=e.participant_id)
        case PlanVersionRecorded():
            open_reviews = state.open_reviews if e.document.status in OPEN_PLAN_STATUSES else ()
            return replace(
                state,
                plan_id=e.plan_id,
                participant_id=e.participant_id,
                version=e.version,
                document=e.document,
                open_reviews=open_reviews,
            )
        case PlanUpdated(review_completed=True):
            return replace(state, open_reviews=())
        case PlanReviewRequested():
            review = OpenReview(e.review_id, e.urgency, e.due_on)
            causes = state.review_causes | ({e.cause_id} if e.cause_id else set())
            return replace(state, open_reviews=(*state.open_reviews, review), review_causes=frozenset(causes))
        case PlanRiskLevelNoted():
            return replace(state, risk_level=e.risk_level, risk_sources=state.risk_sources | {e.source_id})
        case _:
            return state


PLAN: Aggregate[PlanState] = Aggregate(stream_type="plan", initial=initial, evolve=evolve)
