from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.risk import RiskInputs, assess_risk, band, higher
from shared.catalogue.intake import (
    AsamRatings,
    BamResult,
    Barc10Result,
    Gad7Result,
    HighRiskSituation,
    PatternOfUse,
    Phq9Result,
    RiskLevel,
    StressorCategory,
    TriggerRef,
    UseFrequency,
    UseHistory,
)

pytestmark = pytest.mark.unit

CALM_BAM = BamResult(use=0, risk_factors=0, protective_factors=24)


def asam(d5: int) -> AsamRatings:
    return AsamRatings(d1=0, d2=0, d3=0, d4=0, d5=d5, d6=0)


def trigger(*situations: HighRiskSituation) -> TriggerRef:
    return TriggerRef(trigger_id=uuid4(), situations=situations)


# Each row: one input on its own -> the reason it gives and the points it weighs.
WEIGHTS = [
    (RiskInputs(bam=BamResult(use=1, risk_factors=0, protective_factors=24)), "BAM use 1 >= 1", 2),
    (RiskInputs(bam=BamResult(use=0, risk_factors=14, protective_factors=24)), "BAM risk 14 >= 12", 2),
    (RiskInputs(bam=BamResult(use=0, risk_factors=12, protective_factors=24)), "BAM risk 12 >= 12", 2),
    (RiskInputs(bam=BamResult(use=0, risk_factors=0, protective_factors=12)), "BAM protective 12 <= 12", 1),
    (RiskInputs(barc10=Barc10Result(total=46, predicts_sustained_remission=False)), "BARC-10 46 < 47", 1),
    (RiskInputs(asam=asam(2)), "ASAM D5 = 2", 1),
    (RiskInputs(asam=asam(3)), "ASAM D5 = 3", 2),
    (RiskInputs(asam=asam(4)), "ASAM D5 = 4", 3),
    (RiskInputs(phq9=Phq9Result(total=10, severity="moderate", item9=0)), "PHQ-9 10 >= 10", 1),
    (RiskInputs(gad7=Gad7Result(total=10, severity="moderate")), "GAD-7 10 >= 10", 1),
    (RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.WEEKLY)), "use frequency weekly", 1),
    (
        RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.SEVERAL_TIMES_A_WEEK)),
        "use frequency several_times_a_week",
        2,
    ),
    (RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.DAILY)), "use frequency daily", 2),
    (
        RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.NONE, injects=True)),
        "injection use",
        1,
    ),
    (
        RiskInputs(history=UseHistory(prior_treatment_episodes=0, prior_relapses=0, overdose_history=True)),
        "overdose history",
        2,
    ),
    (
        RiskInputs(history=UseHistory(prior_treatment_episodes=0, prior_relapses=2, overdose_history=False)),
        "prior relapses 2 >= 2",
        1,
    ),
    (
        RiskInputs(history=UseHistory(prior_treatment_episodes=3, prior_relapses=0, overdose_history=False)),
        "prior treatment episodes 3 >= 3",
        1,
    ),
    (
        RiskInputs(
            triggers=(
                trigger(HighRiskSituation.SOCIAL_PRESSURE, HighRiskSituation.INTERPERSONAL_CONFLICT),
                trigger(HighRiskSituation.URGES_AND_TEMPTATIONS, HighRiskSituation.SOCIAL_PRESSURE),
            )
        ),
        "high-risk situations 3 >= 3",
        1,
    ),
    (
        RiskInputs(stressors=(StressorCategory.HOUSING, StressorCategory.LEGAL, StressorCategory.FINANCES)),
        "stressors 3 >= 3",
        1,
    ),
    (RiskInputs(days_in_recovery=0), "days in recovery 0 < 90", 1),
    (RiskInputs(days_in_recovery=89), "days in recovery 89 < 90", 1),
]


@pytest.mark.parametrize(("inputs", "reason", "points"), WEIGHTS)
def test_each_risk_factor_weighs_its_documented_points_and_says_why(inputs, reason, points):
    result = assess_risk(inputs)
    assert result.reasons == (reason,)
    assert result.points == points


# Each row: an input just on the safe side of its threshold contributes nothing.
BELOW_THRESHOLD = [
    RiskInputs(bam=BamResult(use=0, risk_factors=11, protective_factors=13)),
    RiskInputs(barc10=Barc10Result(total=47, predicts_sustained_remission=True)),
    RiskInputs(asam=asam(1)),
    RiskInputs(phq9=Phq9Result(total=9, severity="mild", item9=0)),
    RiskInputs(gad7=Gad7Result(total=9, severity="mild")),
    RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.MONTHLY)),
    RiskInputs(history=UseHistory(prior_treatment_episodes=2, prior_relapses=1, overdose_history=False)),
    RiskInputs(triggers=(trigger(HighRiskSituation.SOCIAL_PRESSURE, HighRiskSituation.URGES_AND_TEMPTATIONS),)),
    RiskInputs(stressors=(StressorCategory.HOUSING, StressorCategory.HOUSING, StressorCategory.LEGAL)),
    RiskInputs(days_in_recovery=90),
    RiskInputs(),
]


@pytest.mark.parametrize("inputs", BELOW_THRESHOLD)
def test_inputs_below_their_thresholds_leave_the_risk_low_and_unexplained(inputs):
    result = assess_risk(inputs)
    assert (result.level, result.points, result.reasons) == (RiskLevel.LOW, 0, ())


@pytest.mark.parametrize(
    ("points", "level"),
    [
        (0, RiskLevel.LOW),
        (2, RiskLevel.LOW),
        (3, RiskLevel.MODERATE),
        (5, RiskLevel.MODERATE),
        (6, RiskLevel.HIGH),
        (20, RiskLevel.HIGH),
    ],
)
def test_points_map_to_bands(points, level):
    assert band(points) is level


@pytest.mark.parametrize(
    ("inputs", "level"),
    [
        # any use is at least moderate even though it weighs only 2 points
        (RiskInputs(bam=BamResult(use=1, risk_factors=0, protective_factors=24)), RiskLevel.MODERATE),
        # ASAM D5 = 4 is at least high
        (RiskInputs(asam=asam(4)), RiskLevel.HIGH),
        # 1 + 1 + 1 points: moderate
        (
            RiskInputs(
                phq9=Phq9Result(total=12, severity="moderate", item9=0),
                gad7=Gad7Result(total=12, severity="moderate"),
                days_in_recovery=10,
            ),
            RiskLevel.MODERATE,
        ),
        # 2 + 2 + 1 + 2 points: high
        (
            RiskInputs(
                bam=BamResult(use=3, risk_factors=14, protective_factors=10),
                history=UseHistory(prior_treatment_episodes=0, prior_relapses=0, overdose_history=True),
            ),
            RiskLevel.HIGH,
        ),
    ],
)
def test_floors_and_sums_combine_into_a_level(inputs, level):
    assert assess_risk(inputs).level is level


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        (RiskInputs(phq9=Phq9Result(total=1, severity="minimal", item9=1)), "PHQ-9 item 9 = 1 > 0"),
        (RiskInputs(pattern_of_use=PatternOfUse(frequency=UseFrequency.NONE, using_now=True)), "reported use now"),
    ],
)
def test_an_immediate_safety_concern_is_critical_whatever_else_the_scores_say(inputs, reason):
    result = assess_risk(inputs)
    assert result.level is RiskLevel.CRITICAL
    assert reason in result.reasons


phq9s = st.builds(
    lambda total, item9: Phq9Result(total=total, severity="any", item9=item9),
    st.integers(0, 27),
    st.integers(0, 3),
)
bams = st.builds(
    BamResult, use=st.integers(0, 12), risk_factors=st.integers(0, 24), protective_factors=st.integers(0, 24)
)
patterns = st.builds(
    PatternOfUse, frequency=st.sampled_from(UseFrequency), using_now=st.booleans(), injects=st.booleans()
)
inputs_strategy = st.builds(
    RiskInputs,
    phq9=st.none() | phq9s,
    bam=st.none() | bams,
    asam=st.none() | st.integers(0, 4).map(asam),
    pattern_of_use=st.none() | patterns,
    days_in_recovery=st.none() | st.integers(0, 2000),
)


@given(inputs_strategy)
def test_critical_is_reserved_for_an_immediate_safety_concern(inputs):
    urgent = bool(inputs.phq9 and inputs.phq9.item9 > 0) or bool(
        inputs.pattern_of_use and inputs.pattern_of_use.using_now
    )
    assert (assess_risk(inputs).level is RiskLevel.CRITICAL) == urgent


@given(inputs_strategy)
def test_any_level_above_low_comes_with_its_reasons(inputs):
    result = assess_risk(inputs)
    if result.level is not RiskLevel.LOW:
        assert result.reasons
    assert higher(result.level, band(result.points)) is result.level  # floors only ever raise the band
