"""The relapse-risk level: points from scores and risk factors, plus overrides that explain themselves.

Each rule that fires adds points and a reason ("BAM risk 14 >= 12"). The sum picks a band; a few
findings set a floor whatever the sum, and an immediate safety concern is always critical.
The weights are documented in docs/intake.md and pinned by table tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from services.intake.domain import instruments as ins
from shared.catalogue.intake import (
    AsamRatings,
    BamResult,
    Barc10Result,
    Gad7Result,
    PatternOfUse,
    Phq9Result,
    RiskLevel,
    StressorCategory,
    TriggerRef,
    UseFrequency,
    UseHistory,
)

MODERATE_FROM = 3  # points
HIGH_FROM = 6
EARLY_RECOVERY_DAYS = 90
FREQUENCY_POINTS = {
    UseFrequency.WEEKLY: 1,
    UseFrequency.SEVERAL_TIMES_A_WEEK: 2,
    UseFrequency.DAILY: 2,
}
_ORDER = (RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH, RiskLevel.CRITICAL)


@dataclass(frozen=True)
class RiskInputs:
    """The most recent value of every input (an assessment may carry only some instruments)."""

    phq9: Phq9Result | None = None
    gad7: Gad7Result | None = None
    bam: BamResult | None = None
    barc10: Barc10Result | None = None
    asam: AsamRatings | None = None
    triggers: tuple[TriggerRef, ...] = ()
    stressors: tuple[StressorCategory, ...] = ()
    history: UseHistory | None = None
    pattern_of_use: PatternOfUse | None = None
    days_in_recovery: int | None = None

    def with_days_in_recovery(self, days: int) -> RiskInputs:
        return replace(self, days_in_recovery=days)


@dataclass(frozen=True)
class Finding:
    reason: str
    points: int = 0
    floor: RiskLevel = RiskLevel.LOW


@dataclass(frozen=True)
class RiskAssessment:
    level: RiskLevel
    points: int
    reasons: tuple[str, ...]


Rule = Callable[[RiskInputs], Finding | None]


def _self_harm(i: RiskInputs) -> Finding | None:
    if i.phq9 and i.phq9.item9 > 0:
        return Finding(f"PHQ-9 item 9 = {i.phq9.item9} > 0", floor=RiskLevel.CRITICAL)
    return None


def _using_now(i: RiskInputs) -> Finding | None:
    if i.pattern_of_use and i.pattern_of_use.using_now:
        return Finding("reported use now", floor=RiskLevel.CRITICAL)
    return None


def _bam_use(i: RiskInputs) -> Finding | None:
    if i.bam and i.bam.use >= ins.BAM_USE_CONCERN:
        return Finding(f"BAM use {i.bam.use} >= {ins.BAM_USE_CONCERN}", 2, RiskLevel.MODERATE)
    return None


def _bam_risk(i: RiskInputs) -> Finding | None:
    if i.bam and i.bam.risk_factors >= ins.BAM_RISK_CONCERN:
        return Finding(f"BAM risk {i.bam.risk_factors} >= {ins.BAM_RISK_CONCERN}", 2)
    return None


def _bam_protective(i: RiskInputs) -> Finding | None:
    if i.bam and i.bam.protective_factors <= ins.BAM_PROTECTIVE_CONCERN:
        return Finding(f"BAM protective {i.bam.protective_factors} <= {ins.BAM_PROTECTIVE_CONCERN}", 1)
    return None


def _barc10(i: RiskInputs) -> Finding | None:
    if i.barc10 and not i.barc10.predicts_sustained_remission:
        return Finding(f"BARC-10 {i.barc10.total} < {ins.BARC10_REMISSION_THRESHOLD}", 1)
    return None


def _asam_d5(i: RiskInputs) -> Finding | None:
    if not i.asam or i.asam.d5 < 2:
        return None
    floor = RiskLevel.HIGH if i.asam.d5 == 4 else RiskLevel.LOW
    return Finding(f"ASAM D5 = {i.asam.d5}", i.asam.d5 - 1, floor)


def _phq9_positive(i: RiskInputs) -> Finding | None:
    if i.phq9 and ins.is_positive_screen(i.phq9.total):
        return Finding(f"PHQ-9 {i.phq9.total} >= {ins.POSITIVE_SCREEN}", 1)
    return None


def _gad7_positive(i: RiskInputs) -> Finding | None:
    if i.gad7 and ins.is_positive_screen(i.gad7.total):
        return Finding(f"GAD-7 {i.gad7.total} >= {ins.POSITIVE_SCREEN}", 1)
    return None


def _use_frequency(i: RiskInputs) -> Finding | None:
    points = FREQUENCY_POINTS.get(i.pattern_of_use.frequency, 0) if i.pattern_of_use else 0
    if i.pattern_of_use and points:
        return Finding(f"use frequency {i.pattern_of_use.frequency.value}", points)
    return None


def _injection(i: RiskInputs) -> Finding | None:
    return Finding("injection use", 1) if i.pattern_of_use and i.pattern_of_use.injects else None


def _overdose(i: RiskInputs) -> Finding | None:
    return Finding("overdose history", 2) if i.history and i.history.overdose_history else None


def _prior_relapses(i: RiskInputs) -> Finding | None:
    if i.history and i.history.prior_relapses >= 2:
        return Finding(f"prior relapses {i.history.prior_relapses} >= 2", 1)
    return None


def _prior_treatment(i: RiskInputs) -> Finding | None:
    if i.history and i.history.prior_treatment_episodes >= 3:
        return Finding(f"prior treatment episodes {i.history.prior_treatment_episodes} >= 3", 1)
    return None


def _trigger_situations(i: RiskInputs) -> Finding | None:
    situations = {s for t in i.triggers for s in t.situations}
    if len(situations) >= 3:
        return Finding(f"high-risk situations {len(situations)} >= 3", 1)
    return None


def _stressors(i: RiskInputs) -> Finding | None:
    if len(set(i.stressors)) >= 3:
        return Finding(f"stressors {len(set(i.stressors))} >= 3", 1)
    return None


def _early_recovery(i: RiskInputs) -> Finding | None:
    days = i.days_in_recovery
    if days is not None and 0 <= days < EARLY_RECOVERY_DAYS:
        return Finding(f"days in recovery {days} < {EARLY_RECOVERY_DAYS}", 1)
    return None


RULES: tuple[Rule, ...] = (
    _self_harm,
    _using_now,
    _bam_use,
    _bam_risk,
    _bam_protective,
    _barc10,
    _asam_d5,
    _phq9_positive,
    _gad7_positive,
    _use_frequency,
    _injection,
    _overdose,
    _prior_relapses,
    _prior_treatment,
    _trigger_situations,
    _stressors,
    _early_recovery,
)


def band(points: int) -> RiskLevel:
    if points >= HIGH_FROM:
        return RiskLevel.HIGH
    if points >= MODERATE_FROM:
        return RiskLevel.MODERATE
    return RiskLevel.LOW


def higher(a: RiskLevel, b: RiskLevel) -> RiskLevel:
    return max(a, b, key=_ORDER.index)


def assess_risk(inputs: RiskInputs) -> RiskAssessment:
    """The risk level with every finding that contributed to it, in rule order."""
    findings = [f for rule in RULES if (f := rule(inputs)) is not None]
    points = sum(f.points for f in findings)
    level = band(points)
    for f in findings:
        level = higher(level, f.floor)
    return RiskAssessment(level=level, points=points, reasons=tuple(f.reason for f in findings))
