"""Deciding what recording an assessment means: scores, risk level, safety and co-occurrence.

Everything is decided together so the application appends it in one transaction: a safety
concern is never separated from the assessment that revealed it.
"""

from __future__ import annotations

from datetime import datetime

from services.intake.domain import instruments as ins
from services.intake.domain.assessment import RecordAssessment, ScoredAssessment, score_assessment
from services.intake.domain.participant import Participant, merge_inputs, require_active
from services.intake.domain.risk import RiskAssessment, assess_risk
from shared.catalogue.intake import (
    AssessmentCompleted,
    CoOccurringConditionFlagged,
    Gad7Result,
    Instrument,
    Phq9Result,
    RiskLevelChanged,
    SafetyConcernKind,
    SafetyConcernRaised,
)
from shared.domain import Conflict
from shared.events import DomainEvent


def risk_after(state: Participant, scored: ScoredAssessment, now: datetime) -> RiskAssessment:
    """The participant's risk once this assessment joins the latest results of earlier ones."""
    inputs = merge_inputs(state.risk_inputs, scored)
    if state.recovery_start_date is not None:
        inputs = inputs.with_days_in_recovery((now.date() - state.recovery_start_date).days)
    return assess_risk(inputs)


def safety_concerns(scored: ScoredAssessment) -> tuple[SafetyConcernKind, ...]:
    found = []
    if scored.phq9 and scored.phq9.item9 > 0:
        found.append(SafetyConcernKind.SELF_HARM_THOUGHTS)
    if scored.pattern_of_use and scored.pattern_of_use.using_now:
        found.append(SafetyConcernKind.USING_NOW)
    return tuple(found)


def co_occurring_flags(scored: ScoredAssessment, now: datetime) -> list[CoOccurringConditionFlagged]:
    """A flag for each depression / anxiety screen that is positive."""
    screens: tuple[tuple[Instrument, Phq9Result | Gad7Result | None], ...] = (
        (Instrument.PHQ9, scored.phq9), (Instrument.GAD7, scored.gad7),
    )
    return [
        CoOccurringConditionFlagged(
            participant_id=scored.command.participant_id, assessment_id=scored.command.assessment_id,
            instrument=instrument, score=result.total, severity=result.severity, flagged_at=now,
        )
        for instrument, result in screens
        if result and ins.is_positive_screen(result.total)
    ]


def decide_record_assessment(state: Participant, cmd: RecordAssessment, now: datetime) -> list[DomainEvent]:
    require_active(state)
    if cmd.assessment_id in state.assessment_ids:
        raise Conflict("an assessment with this id was already recorded", field="assessment_id")
    scored = score_assessment(cmd)
    risk = risk_after(state, scored, now)
    events: list[DomainEvent] = [
        AssessmentCompleted(
            participant_id=cmd.participant_id,
            assessment_id=cmd.assessment_id,
            instruments=tuple(i.value for i in scored.instruments),
            phq9=scored.phq9,
            gad7=scored.gad7,
            bam=scored.bam,
            barc10=scored.barc10,
            asam=scored.asam,
            triggers=scored.triggers,
            stressors=scored.stressors,
            history=scored.history,
            pattern_of_use=scored.pattern_of_use,
            risk_level=risk.level.value,
            risk_reasons=risk.reasons,
            completed_at=now,
        )
    ]
    concerns = safety_concerns(scored)
    if concerns:
        events.append(
            SafetyConcernRaised(
                participant_id=cmd.participant_id,
                assessment_id=cmd.assessment_id,
                concerns=concerns,
                phq9_item9=scored.phq9.item9 if scored.phq9 else None,
                raised_at=now,
            )
        )
    if risk.level != state.risk_level:
        events.append(
            RiskLevelChanged(
                participant_id=cmd.participant_id,
                assessment_id=cmd.assessment_id,
                previous_level=state.risk_level,
                risk_level=risk.level,
                reasons=risk.reasons,
                changed_at=now,
            )
        )
    events.extend(co_occurring_flags(scored, now))
    return events
