"""Builders shared by planning's unit tests: fixed ids and times, and ready-made histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.planning.domain.commands import DraftPlan, RevisePlan
from services.planning.domain.plan import decide_draft_plan, decide_revise_plan
from services.planning.domain.policies import when_assessment_completed
from services.planning.domain.seeding import AssessmentFacts, TriggerFacts
from services.planning.domain.state import PLAN, PlanState
from shared.events import DomainEvent

PARTICIPANT = UUID("11111111-1111-4111-8111-111111111111")
ASSESSMENT = UUID("22222222-2222-4222-8222-222222222222")
TRIGGER = UUID("33333333-3333-4333-8333-333333333333")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPECIALIST = "specialist-7"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def state_of(events: list[DomainEvent]) -> PlanState:
    return PLAN.fold(events)


def assessment(**overrides: Any) -> AssessmentFacts:
    values: dict[str, Any] = {
        "participant_id": PARTICIPANT,
        "assessment_id": ASSESSMENT,
        "risk_level": "moderate",
        "completed_at": T0,
        "triggers": (TriggerFacts(TRIGGER, ("urges_and_temptations",)),),
    }
    values.update(overrides)
    return AssessmentFacts(**values)


def drafted(sections: dict[str, Any] | None = None, when: datetime = T0) -> list[DomainEvent]:
    """History of a plan drafted by hand at version 1."""
    command = DraftPlan.model_validate(
        {"participant_id": PARTICIPANT, "sections": sections or {}, "drafted_by": SPECIALIST}
    )
    return decide_draft_plan(PLAN.initial(), command, when)


def seeded(**overrides: Any) -> list[DomainEvent]:
    """History of a plan drafted from an assessment (with a risk baseline)."""
    return when_assessment_completed(PLAN.initial(), assessment(**overrides), T0)


def revise(history: list[DomainEvent], when: datetime, **body: Any) -> list[DomainEvent]:
    """Apply a revision on top of ``history`` at its current version; return the new history."""
    state = state_of(history)
    body.setdefault("expected_version", state.version)
    command = RevisePlan.model_validate({"participant_id": PARTICIPANT, "changed_by": SPECIALIST, **body})
    return [*history, *decide_revise_plan(state, command, when)]


def revise_command(expected_version: int, **body: Any) -> RevisePlan:
    return RevisePlan.model_validate(
        {"participant_id": PARTICIPANT, "changed_by": SPECIALIST, "expected_version": expected_version, **body}
    )
