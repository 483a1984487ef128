from datetime import date
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_builders import NOW, assessment_order, enrol_order, phq9, when
from pydantic import ValidationError

from services.intake.domain.assessing import decide_record_assessment
from services.intake.domain.participant import decide_enrol, participant_aggregate
from shared.catalogue.intake import (
    AssessmentCompleted,
    CoOccurringConditionFlagged,
    Instrument,
    ParticipantDischarged,
    RiskLevel,
    RiskLevelChanged,
    SafetyConcernRaised,
)
from shared.domain import Conflict, NotFound

pytestmark = pytest.mark.unit
P = participant_aggregate
CALM_PHQ9 = phq9(0, 0, 0, 0, 0, 0, 0, 0, 0)
SELF_HARM_PHQ9 = phq9(0, 0, 0, 0, 0, 0, 0, 0, 1)


def history(**overrides):
    order = enrol_order(**overrides)
    return order.participant_id, decide_enrol(P.initial(), order, NOW)


def record(events, participant_id, **sections):
    return when(P, events, decide_record_assessment, assessment_order(participant_id, **sections))


def of_type(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_a_calm_first_assessment_completes_and_sets_the_first_risk_level():
    pid, given = history()
    events = record(given, pid, phq9=CALM_PHQ9)
    assert [type(e) for e in events] == [AssessmentCompleted, RiskLevelChanged]
    completed, changed = events
    assert completed.instruments == ("PHQ-9",)
    assert completed.phq9 is not None and (completed.phq9.total, completed.phq9.severity) == (0, "minimal")
    assert completed.risk_level == "low"
    assert (changed.previous_level, changed.risk_level, changed.reasons) == (None, RiskLevel.LOW, ())


def test_an_unchanged_risk_level_is_not_announced_again():
    pid, given = history()
    first = record(given, pid, phq9=CALM_PHQ9)
    second = record([*given, *first], pid, phq9=CALM_PHQ9)
    assert [type(e) for e in second] == [AssessmentCompleted]


def test_a_changed_risk_level_names_the_previous_level_and_the_reasons():
    pid, given = history()
    first = record(given, pid, phq9=CALM_PHQ9)
    bam = {"answers": [2, 2, 2, 1, 0, 0, 0, 2, 3, 3, 2, 3, 3, 3, 1, 3, 0]}
    [_, changed] = record([*given, *first], pid, bam=bam)
    assert isinstance(changed, RiskLevelChanged)
    assert (changed.previous_level, changed.risk_level) == (RiskLevel.LOW, RiskLevel.MODERATE)
    assert changed.reasons == ("BAM use 1 >= 1",)


def test_phq9_item_9_raises_a_safety_concern_whatever_the_total():
    pid, given = history()
    events = record(given, pid, phq9=SELF_HARM_PHQ9)
    [concern] = of_type(events, SafetyConcernRaised)
    assert concern.concerns == ("self_harm_thoughts",)
    assert concern.phq9_item9 == 1
    assert of_type(events, RiskLevelChanged)[0].risk_level is RiskLevel.CRITICAL
    assert of_type(events, CoOccurringConditionFlagged) == []  # total 1: no positive screen


def test_reported_use_now_is_a_safety_concern_too():
    pid, given = history()
    events = record(given, pid, risk_factors={"pattern_of_use": {"frequency": "daily", "using_now": True}})
    [concern] = of_type(events, SafetyConcernRaised)
    assert concern.concerns == ("using_now",)
    assert concern.phq9_item9 is None


def test_a_safety_concern_is_raised_with_every_assessment_that_reveals_it():
    pid, given = history()
    first = record(given, pid, phq9=SELF_HARM_PHQ9)
    second = record([*given, *first], pid, phq9=SELF_HARM_PHQ9)
    assert len(of_type(second, SafetyConcernRaised)) == 1
    assert of_type(second, RiskLevelChanged) == []  # still critical


@pytest.mark.parametrize(
    ("sections", "flags"),
    [
        ({"phq9": phq9(2, 2, 2, 2, 1, 1, 0, 0, 0)}, [(Instrument.PHQ9, 10, "moderate")]),
        ({"phq9": phq9(2, 2, 2, 2, 1, 0, 0, 0, 0)}, []),
        ({"gad7": {"answers": [3, 3, 3, 3, 3, 0, 0]}}, [(Instrument.GAD7, 15, "severe")]),
        ({"gad7": {"answers": [3, 3, 3, 0, 0, 0, 0]}}, []),
        (
            {"phq9": phq9(3, 3, 3, 3, 3, 3, 3, 0, 0), "gad7": {"answers": [2, 2, 2, 2, 2, 0, 0]}},
            [(Instrument.PHQ9, 21, "severe"), (Instrument.GAD7, 10, "moderate")],
        ),
    ],
)
def test_positive_mental_health_screens_flag_a_co_occurring_condition(sections, flags):
    pid, given = history()
    events = record(given, pid, **sections)
    found = [(f.instrument, f.score, f.severity) for f in of_type(events, CoOccurringConditionFlagged)]
    assert found == flags


def test_assessment_completed_carries_every_score_the_triggers_and_the_reasons():
    pid, given = history(recovery_start_date=date(2026, 11, 1))
    trigger_id = uuid4()
    events = record(
        given,
        pid,
        phq9=phq9(1, 1, 1, 1, 1, 1, 1, 1, 0),
        gad7={"answers": [1] * 7},
        bam={"answers": [1] * 17, "substances": {"7A": 2}},
        barc10={"answers": [5] * 10},
        asam={"d1": 0, "d2": 1, "d3": 2, "d4": 1, "d5": 3, "d6": 0},
        risk_factors={
            "triggers": [
                {
                    "trigger_id": str(trigger_id),
                    "description": "payday on Friday",
                    "situations": ["urges_and_temptations", "social_pressure"],
                }
            ],
            "stressors": [{"category": "housing", "description": "eviction notice"}],
            "history": {"prior_treatment_episodes": 1, "prior_relapses": 2, "overdose_history": False},
            "pattern_of_use": {"frequency": "monthly", "days_since_last_use": 20},
        },
    )
    completed = events[0]
    assert isinstance(completed, AssessmentCompleted)
    assert completed.instruments == ("PHQ-9", "GAD-7", "BAM", "BARC-10", "ASAM", "risk-factors")
    assert (completed.phq9.total, completed.gad7.total) == (8, 7)
    assert (completed.bam.use, completed.bam.risk_factors, completed.bam.protective_factors) == (3, 6, 6)
    assert (completed.barc10.total, completed.barc10.predicts_sustained_remission) == (50, True)
    assert completed.asam.d5 == 3
    assert [(t.trigger_id, t.situations) for t in completed.triggers] == [
        (trigger_id, ("urges_and_temptations", "social_pressure"))
    ]
    assert completed.stressors == ("housing",)
    assert completed.history.prior_relapses == 2
    assert completed.pattern_of_use.days_since_last_use == 20
    assert completed.risk_reasons == (
        "BAM use 3 >= 1",
        "BAM protective 6 <= 12",
        "ASAM D5 = 3",
        "prior relapses 2 >= 2",
        "days in recovery 25 < 90",
    )
    assert completed.risk_level == "high"
    payload = completed.model_dump_json()
    assert "payday" not in payload and "eviction" not in payload


def test_sections_left_out_keep_their_latest_value_for_the_risk_level():
    pid, given = history()
    first = record(given, pid, asam={"d1": 0, "d2": 0, "d3": 0, "d4": 0, "d5": 4, "d6": 0})
    second = record([*given, *first], pid, phq9=CALM_PHQ9)
    assert second[0].risk_level == "high"
    assert second[0].risk_reasons == ("ASAM D5 = 4",)


def test_a_new_phq9_without_item_9_lifts_the_critical_level():
    pid, given = history()
    first = record(given, pid, phq9=SELF_HARM_PHQ9)
    second = record([*given, *first], pid, phq9=CALM_PHQ9)
    [changed] = of_type(second, RiskLevelChanged)
    assert (changed.previous_level, changed.risk_level) == (RiskLevel.CRITICAL, RiskLevel.LOW)


def test_recording_the_same_assessment_twice_is_a_conflict():
    pid, given = history()
    order = assessment_order(pid, phq9=CALM_PHQ9)
    first = when(P, given, decide_record_assessment, order)
    with pytest.raises(Conflict) as raised:
        when(P, [*given, *first], decide_record_assessment, order)
    assert raised.value.field == "assessment_id"


def test_assessing_an_unknown_participant_is_not_found():
    with pytest.raises(NotFound):
        record([], uuid4(), phq9=CALM_PHQ9)


def test_assessing_a_discharged_participant_is_a_conflict():
    pid, given = history()
    discharged = [*given, ParticipantDischarged(participant_id=pid, reason="other", discharged_at=NOW)]
    with pytest.raises(Conflict):
        record(discharged, pid, phq9=CALM_PHQ9)


@pytest.mark.parametrize(
    ("sections", "location"),
    [
        ({}, ()),
        ({"audit_c": {"answers": [1, 2, 3]}}, ("audit_c",)),
        ({"phq9": {"answers": [0] * 8}}, ("phq9", "answers")),
        ({"gad7": {"answers": [0] * 6 + [4]}}, ("gad7", "answers", 6)),
        (
            {"risk_factors": {"triggers": [{"description": "x", "situations": []}]}},
            ("risk_factors", "triggers", 0, "situations"),
        ),
        (
            {"risk_factors": {"triggers": [{"description": "x", "situations": ["boredom"]}]}},
            ("risk_factors", "triggers", 0, "situations", 0),
        ),
        (
            {
                "risk_factors": {
                    "history": {"prior_treatment_episodes": -1, "prior_relapses": 0, "overdose_history": False}
                }
            },
            ("risk_factors", "history", "prior_treatment_episodes"),
        ),
        (
            {"risk_factors": {"pattern_of_use": {"frequency": "hourly"}}},
            ("risk_factors", "pattern_of_use", "frequency"),
        ),
    ],
)
def test_a_bad_assessment_order_is_rejected_naming_the_field(sections, location):
    with pytest.raises(ValidationError) as raised:
        assessment_order(uuid4(), **sections)
    assert location in [tuple(e["loc"]) for e in raised.value.errors()]


@given(st.lists(st.lists(st.integers(0, 3), min_size=9, max_size=9), min_size=1, max_size=6))
@settings(deadline=None, max_examples=50)
def test_risk_level_changed_is_emitted_exactly_when_the_level_changes_naming_the_previous_one(phq9_series):
    pid, given = history()
    events = list(given)
    previous = None
    for answers in phq9_series:
        decided = record(events, pid, phq9=phq9(*answers))
        level = RiskLevel(decided[0].risk_level)
        changes = of_type(decided, RiskLevelChanged)
        if level == previous:
            assert changes == []
        else:
            [change] = changes
            assert (change.previous_level, change.risk_level, change.reasons) == (
                previous,
                level,
                decided[0].risk_reasons,
            )
        assert bool(of_type(decided, SafetyConcernRaised)) == (answers[8] > 0)
        assert [f.score for f in of_type(decided, CoOccurringConditionFlagged)] == (
            [sum(answers)] if sum(answers) >= 10 else []
        )
        events.extend(decided)
        previous = level
