"""How the plan reacts to other services' events. Pure: plain facts in, planning events out.

Each policy is idempotent on its own: a redelivered fact (same assessment, change or relapse id)
yields no new events, so the inbox is a second line of defence rather than the only one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from services.planning.domain.lifecycle import OPEN_PLAN_STATUSES
from services.planning.domain.plan import complete_on_discharge, draft_events
from services.planning.domain.recorded import PlanRiskLevelNoted
from services.planning.domain.seeding import AssessmentFacts, seed_document
from services.planning.domain.state import PlanState, plan_id_for
from services.planning.domain.versioning import with_ids
from shared.catalogue.planning import PlanReviewRequested, ReviewReason, ReviewUrgency
from shared.events import DomainEvent

SYSTEM_ACTOR = "system:planning"
RISK_RANK = {"low": 0, "moderate": 1, "high": 2, "critical": 3}
REVIEW_ON_RISE: dict[str, tuple[ReviewUrgency, int]] = {
    "moderate": (ReviewUrgency.ROUTINE, 7),
    "high": (ReviewUrgency.ROUTINE, 3),
    "critical": (ReviewUrgency.URGENT, 1),
}
"""Urgency and days until the review is due, by the level the risk rose to."""
REVIEW_AFTER_RELAPSE = (ReviewUrgency.URGENT, 1)
_RANK = {ReviewUrgency.ROUTINE: 0, ReviewUrgency.URGENT: 1}


@dataclass(frozen=True)
class RiskLevelFacts:
    """intake's RiskLevelChanged; ``source_id`` is the assessment that caused it (dedupes with it)."""

    participant_id: UUID
    source_id: UUID
    risk_level: str
    changed_at: datetime


@dataclass(frozen=True)
class RelapseFacts:
    participant_id: UUID
    relapse_id: UUID
    reported_at: datetime


@dataclass(frozen=True)
class DischargeFacts:
    participant_id: UUID
    discharged_at: datetime


def _is_open(state: PlanState) -> bool:
    return state.status in OPEN_PLAN_STATUSES


def _review(
    state: PlanState,
    reason: ReviewReason,
    urgency: ReviewUrgency,
    days: int,
    cause_id: UUID,
    now: datetime,
    risk_level: str | None = None,
) -> list[DomainEvent]:
    """A review request, unless an open review at least as urgent is already due on or before it."""
    due_on = now.date() + timedelta(days=days)
    if any(r.due_on <= due_on and _RANK[r.urgency] >= _RANK[urgency] for r in state.open_reviews):
        return []
    assert state.plan_id is not None and state.participant_id is not None
    return [
        PlanReviewRequested(
            participant_id=state.participant_id,
            plan_id=state.plan_id,
            review_id=uuid5(state.plan_id, f"review/{cause_id}"),
            plan_version=state.version,
            reason=reason,
            urgency=urgency,
            due_on=due_on,
            risk_level=risk_level if risk_level in RISK_RANK else None,
            previous_risk_level=state.risk_level,
            cause_id=cause_id,
            requested_at=now,
        )
    ]


def _on_risk_level(state: PlanState, level: str, source_id: UUID, now: datetime) -> list[DomainEvent]:
    if not _is_open(state) or level not in RISK_RANK or source_id in state.risk_sources:
        return []
    if level == state.risk_level:
        return []
    assert state.plan_id is not None and state.participant_id is not None
    noted = PlanRiskLevelNoted(
        participant_id=state.participant_id,
        plan_id=state.plan_id,
        risk_level=level,
        source_id=source_id,
        noted_at=now,
    )
    if state.risk_level is None or RISK_RANK[level] < RISK_RANK[state.risk_level]:
        return [noted]
    urgency, days = REVIEW_ON_RISE[level]
    return [noted, *_review(state, ReviewReason.RISK_LEVEL_ROSE, urgency, days, source_id, now, level)]


def when_assessment_completed(state: PlanState, facts: AssessmentFacts, now: datetime) -> list[DomainEvent]:
    """No plan yet: draft one from the assessment. A plan already: ask for a review if risk rose."""
    if state.exists:
        return _on_risk_level(state, facts.risk_level, facts.assessment_id, now)
    plan_id = plan_id_for(facts.participant_id)
    seeded = seed_document(facts)
    document = seeded.model_copy(update={"content": with_ids(seeded.content, plan_id, 1)})
    events = draft_events(state, facts.participant_id, document, "drafted-from-assessment", SYSTEM_ACTOR, now)
    if facts.risk_level in RISK_RANK:
        events.append(
            PlanRiskLevelNoted(
                participant_id=facts.participant_id,
                plan_id=plan_id,
                risk_level=facts.risk_level,
                source_id=facts.assessment_id,
                noted_at=now,
            )
        )
    return events


def when_risk_level_changed(state: PlanState, facts: RiskLevelFacts, now: datetime) -> list[DomainEvent]:
    """A rise above the level planning last knew of asks for a review; any change becomes the baseline."""
    return _on_risk_level(state, facts.risk_level, facts.source_id, now)


def when_relapse_reported(state: PlanState, facts: RelapseFacts, now: datetime) -> list[DomainEvent]:
    """A relapse is information for the plan: ask for an urgent review."""
    if not _is_open(state) or facts.relapse_id in state.review_causes:
        return []
    urgency, days = REVIEW_AFTER_RELAPSE
    return _review(state, ReviewReason.RELAPSE_REPORTED, urgency, days, facts.relapse_id, now, state.risk_level)


def when_participant_discharged(state: PlanState, facts: DischargeFacts, now: datetime) -> list[DomainEvent]:
    """Discharge completes an open plan; a closed plan or no plan is left as it is."""
    if not _is_open(state):
        return []
    return complete_on_discharge(state, SYSTEM_ACTOR, now)
