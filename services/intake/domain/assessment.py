"""The order to record an assessment, and its scoring into a record that keeps the raw answers.

An assessment carries any non-empty subset of the instruments and the risk-factor section. An
unknown instrument is an unknown field and is rejected (``extra="forbid"``), naming the field.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.intake.domain import instruments as ins
from services.intake.domain.enrolment import Command
from services.intake.domain.validation import count_between
from shared.catalogue.intake import (
    AsamRatings,
    BamResult,
    Barc10Result,
    Gad7Result,
    HighRiskSituation,
    Instrument,
    PatternOfUse,
    Phq9Result,
    StressorCategory,
    TriggerRef,
    UseFrequency,
    UseHistory,
)

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Count = Annotated[int, Field(ge=0, le=500)]


class Trigger(Command):
    """A trigger in the participant's words (kept by intake) tagged with high-risk situations."""

    trigger_id: UUID = Field(default_factory=uuid4)
    description: Description
    situations: Annotated[tuple[HighRiskSituation, ...], count_between(1, 8)]


class Stressor(Command):
    category: StressorCategory
    description: Description | None = None


class History(Command):
    prior_treatment_episodes: Count
    prior_relapses: Count
    overdose_history: bool


class UsePattern(Command):
    frequency: UseFrequency
    using_now: bool = False
    injects: bool = False
    days_since_last_use: Annotated[int, Field(ge=0, le=36500)] | None = None


class RiskFactors(Command):
    triggers: tuple[Trigger, ...] = Field(default=(), max_length=30)
    stressors: tuple[Stressor, ...] = Field(default=(), max_length=30)
    history: History | None = None
    pattern_of_use: UsePattern | None = None


class AssessmentForm(Command):
    """The sections of one assessment, as a specialist submits them."""

    phq9: ins.Phq9Answers | None = None
    gad7: ins.Gad7Answers | None = None
    bam: ins.BamAnswers | None = None
    barc10: ins.Barc10Answers | None = None
    asam: ins.AsamAnswers | None = None
    risk_factors: RiskFactors | None = None

    @model_validator(mode="after")
    def _at_least_one_section(self) -> AssessmentForm:
        if not instruments_of(self):
            raise ValueError("an assessment needs at least one instrument or the risk-factor section")
        return self


class RecordAssessment(AssessmentForm):
    participant_id: UUID
    assessment_id: UUID = Field(default_factory=uuid4)


class ScoredAssessment(BaseModel):
    """Scores beside the raw answers they came from, so any score can be re-derived and audited."""

    model_config = ConfigDict(frozen=True)

    command: RecordAssessment
    instruments: tuple[Instrument, ...]
    phq9: Phq9Result | None = None
    gad7: Gad7Result | None = None
    bam: BamResult | None = None
    barc10: Barc10Result | None = None
    asam: AsamRatings | None = None
    triggers: tuple[TriggerRef, ...] = ()
    stressors: tuple[StressorCategory, ...] = ()
    history: UseHistory | None = None
    pattern_of_use: PatternOfUse | None = None


_SECTIONS = (
    ("phq9", Instrument.PHQ9),
    ("gad7", Instrument.GAD7),
    ("bam", Instrument.BAM),
    ("barc10", Instrument.BARC10),
    ("asam", Instrument.ASAM),
    ("risk_factors", Instrument.RISK_FACTORS),
)


def instruments_of(cmd: AssessmentForm) -> tuple[Instrument, ...]:
    return tuple(instrument for name, instrument in _SECTIONS if getattr(cmd, name) is not None)


def score_assessment(cmd: RecordAssessment) -> ScoredAssessment:
    rf = cmd.risk_factors
    return ScoredAssessment(
        command=cmd,
        instruments=instruments_of(cmd),
        phq9=ins.score_phq9(cmd.phq9) if cmd.phq9 else None,
        gad7=ins.score_gad7(cmd.gad7) if cmd.gad7 else None,
        bam=ins.score_bam(cmd.bam) if cmd.bam else None,
        barc10=ins.score_barc10(cmd.barc10) if cmd.barc10 else None,
        asam=ins.asam_ratings(cmd.asam) if cmd.asam else None,
        triggers=tuple(TriggerRef(trigger_id=t.trigger_id, situations=t.situations) for t in rf.triggers) if rf else (),
        stressors=tuple(s.category for s in rf.stressors) if rf else (),
        history=UseHistory(**rf.history.model_dump()) if rf and rf.history else None,
        pattern_of_use=PatternOfUse(**rf.pattern_of_use.model_dump()) if rf and rf.pattern_of_use else None,
    )
