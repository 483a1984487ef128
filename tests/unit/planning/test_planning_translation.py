"""Intake's and monitoring's events become plain facts before any policy sees them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.planning.application.consumers import assessment_facts
from services.planning.domain.policies import when_assessment_completed
from services.planning.domain.state import PLAN
from shared.catalogue.intake import AssessmentCompleted, BamResult, Barc10Result, TriggerRef
from shared.catalogue.intake import HighRiskSituation as Situation

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def completed(**extra: object) -> AssessmentCompleted:
    return AssessmentCompleted(
        participant_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        instruments=("BAM", "BARC-10"),
        risk_level="high",
        completed_at=NOW,
        **extra,
    )


def test_scores_and_triggers_are_carried_over() -> None:
    trigger = uuid.uuid4()
    event = completed(
        triggers=(
            TriggerRef(trigger_id=trigger, situations=(Situation.SOCIAL_PRESSURE, Situation.URGES_AND_TEMPTATIONS)),
        ),
        bam=BamResult(use=1, risk_factors=14, protective_factors=11),
        barc10=Barc10Result(total=44, predicts_sustained_remission=False),
    )
    facts = assessment_facts(event)
    assert (facts.participant_id, facts.assessment_id, facts.risk_level) == (
        event.participant_id,
        event.assessment_id,
        "high",
    )
    assert [(t.trigger_id, t.situations) for t in facts.triggers] == [
        (trigger, ("social_pressure", "urges_and_temptations"))
    ]
    assert (facts.bam_protective_subscale, facts.barc10_total) == (11, 44)


def test_an_assessment_without_bam_or_barc10_seeds_no_goals() -> None:
    facts = assessment_facts(completed())
    assert facts.bam_protective_subscale is None and facts.barc10_total is None
    events = when_assessment_completed(PLAN.initial(), facts, NOW)
    state = PLAN.fold(events)
    assert state.document is not None and state.document.content.goals == ()
