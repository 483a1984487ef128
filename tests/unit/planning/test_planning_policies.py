from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from services.planning.domain.policies import (
    DischargeFacts,
    RelapseFacts,
    RiskLevelFacts,
    when_assessment_completed,
    when_participant_discharged,
    when_relapse_reported,
    when_risk_level_changed,
)
from services.planning.domain.recorded import PlanRiskLevelNoted, PlanVersionRecorded
from services.planning.domain.seeding import BAM_GENERAL_GOAL, BARC10_GOAL, TriggerFacts
from services.planning.domain.state import PLAN
from services.planning.domain.strategies import SUGGESTIONS_PER_SITUATION
from shared.catalogue.planning import (
    GoalStatus,
    PlanCreated,
    PlanReviewRequested,
    PlanStatus,
    PlanStatusChanged,
    ReviewReason,
    ReviewUrgency,
    SituationCategory,
    StatusChangeReason,
)
from shared.events import DomainEvent

from .planning_builders import ASSESSMENT, PARTICIPANT, T0, TRIGGER, assessment, at, drafted, revise, seeded, state_of

pytestmark = pytest.mark.unit

LATER_ASSESSMENT = UUID("66666666-6666-4666-8666-666666666666")
RELAPSE = UUID("77777777-7777-4777-8777-777777777777")


def of_type(events: list[DomainEvent], kind: type[DomainEvent]) -> list[DomainEvent]:
    return [e for e in events if isinstance(e, kind)]


def reviews(events: list[DomainEvent]) -> list[PlanReviewRequested]:
    return [e for e in events if isinstance(e, PlanReviewRequested)]


# --- drafting from an assessment ---------------------------------------------------------------


def test_a_first_assessment_drafts_a_plan_from_its_triggers() -> None:
    events = seeded()
    created, recorded, noted = events
    assert isinstance(created, PlanCreated) and created.status == "draft" and created.version == 1
    assert created.source_assessment_id == ASSESSMENT
    assert created.outline.situation_categories == (SituationCategory.URGES_AND_TEMPTATIONS,)
    assert isinstance(recorded, PlanVersionRecorded) and recorded.change == "drafted-from-assessment"
    (situation,) = recorded.document.content.high_risk_situations
    assert situation.trigger_id == TRIGGER
    assert [s.library_key for s in situation.strategies] == ["urge-surfing", "delay-and-distract", "play-the-tape"]
    assert isinstance(noted, PlanRiskLevelNoted) and noted.risk_level == "moderate"


def test_each_trigger_becomes_a_situation_per_category_and_unknown_categories_are_skipped() -> None:
    other = UUID("88888888-8888-4888-8888-888888888888")
    triggers = (
        TriggerFacts(TRIGGER, ("Social Pressure", "interpersonal-conflict", "weather")),
        TriggerFacts(other, ("social_pressure",)),
        TriggerFacts(other, ("social_pressure",)),
    )
    document = state_of(seeded(triggers=triggers)).document
    assert document is not None
    situations = document.content.high_risk_situations
    assert [(s.trigger_id, s.category) for s in situations] == [
        (TRIGGER, SituationCategory.SOCIAL_PRESSURE),
        (TRIGGER, SituationCategory.INTERPERSONAL_CONFLICT),
        (other, SituationCategory.SOCIAL_PRESSURE),
    ]
    assert all(len(s.strategies) == SUGGESTIONS_PER_SITUATION for s in situations)


@pytest.mark.parametrize(
    ("bam_subscale", "barc10", "expected_goals"),
    [
        (None, None, 0),
        (18, 50, 0),
        (12, None, 1),
        (13, None, 0),
        (None, 46, 1),
        (None, 47, 0),
        (0, 10, 2),
    ],
)
def test_weak_protective_factors_and_low_recovery_capital_become_proposed_goals(
    bam_subscale: int | None, barc10: int | None, expected_goals: int
) -> None:
    document = state_of(seeded(bam_protective_subscale=bam_subscale, barc10_total=barc10)).document
    assert document is not None
    goals = document.content.goals
    assert len(goals) == expected_goals
    assert all(g.status == GoalStatus.PROPOSED and g.origin == "assessment" for g in goals)


def test_the_seeded_goals_are_worded_for_the_gap_they_answer() -> None:
    document = state_of(seeded(bam_protective_subscale=8, barc10_total=30)).document
    assert document is not None
    assert [g.description for g in document.content.goals] == [BAM_GENERAL_GOAL, BARC10_GOAL]


def test_the_same_assessment_delivered_twice_drafts_one_plan() -> None:
    history = seeded()
    assert when_assessment_completed(state_of(history), assessment(), at(1)) == []


# --- reviews when the risk rises -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "new", "urgency", "days"),
    [
        ("low", "moderate", ReviewUrgency.ROUTINE, 7),
        ("low", "high", ReviewUrgency.ROUTINE, 3),
        ("moderate", "high", ReviewUrgency.ROUTINE, 3),
        ("moderate", "critical", ReviewUrgency.URGENT, 1),
        ("high", "critical", ReviewUrgency.URGENT, 1),
    ],
)
def test_a_later_assessment_with_a_higher_risk_asks_for_one_review(
    baseline: str, new: str, urgency: ReviewUrgency, days: int
) -> None:
    history = seeded(risk_level=baseline)
    events = when_assessment_completed(
        state_of(history), assessment(assessment_id=LATER_ASSESSMENT, risk_level=new), at(24)
    )
    (review,) = reviews(events)
    assert (review.reason, review.urgency, review.due_on) == (
        ReviewReason.RISK_LEVEL_ROSE,
        urgency,
        at(24).date() + timedelta(days=days),
    )
    assert (review.risk_level, review.previous_risk_level, review.cause_id) == (new, baseline, LATER_ASSESSMENT)
    assert review.plan_version == 1
    again = when_assessment_completed(
        state_of([*history, *events]), assessment(assessment_id=LATER_ASSESSMENT, risk_level=new), at(25)
    )
    assert again == []


@pytest.mark.parametrize(("baseline", "new"), [("high", "high"), ("high", "moderate"), ("critical", "low")])
def test_a_steady_or_falling_risk_asks_for_no_review(baseline: str, new: str) -> None:
    history = seeded(risk_level=baseline)
    events = when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, new, at(1)), at(1)
    )
    assert reviews(events) == []


def test_a_fall_resets_the_baseline_so_the_next_rise_counts() -> None:
    history = seeded(risk_level="high")
    history += when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "low", at(1)), at(1)
    )
    rise = when_risk_level_changed(state_of(history), RiskLevelFacts(PARTICIPANT, RELAPSE, "moderate", at(2)), at(2))
    assert len(reviews(rise)) == 1


def test_the_change_event_of_the_same_assessment_does_not_ask_twice() -> None:
    history = seeded(risk_level="low")
    history += when_assessment_completed(
        state_of(history), assessment(assessment_id=LATER_ASSESSMENT, risk_level="high"), at(1)
    )
    echo = when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "high", at(1)), at(1)
    )
    assert echo == []


def test_an_open_review_due_sooner_covers_a_new_rise_but_the_rise_is_still_noted() -> None:
    history = seeded(risk_level="low")
    history += when_relapse_reported(state_of(history), RelapseFacts(PARTICIPANT, RELAPSE, at(1)), at(1))
    rise = when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "high", at(2)), at(2)
    )
    assert [type(e) for e in rise] == [PlanRiskLevelNoted]
    assert state_of([*history, *rise]).risk_level == "high"


def test_a_sooner_review_is_not_covered_by_a_later_one() -> None:
    history = seeded(risk_level="low")
    history += when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "high", at(1)), at(1)
    )
    more = when_risk_level_changed(state_of(history), RiskLevelFacts(PARTICIPANT, RELAPSE, "critical", at(2)), at(2))
    assert [r.urgency for r in reviews(more)] == [ReviewUrgency.URGENT]


def test_a_routine_review_due_soon_does_not_cover_an_urgent_one() -> None:
    history = seeded(risk_level="low")
    history += when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "high", T0), T0
    )  # routine, due in 3 days
    relapse = when_relapse_reported(state_of(history), RelapseFacts(PARTICIPANT, RELAPSE, at(48)), at(48))
    (review,) = reviews(relapse)  # due the next day, the same day as the routine one, but urgent
    assert (review.urgency, review.due_on) == (ReviewUrgency.URGENT, date(2026, 3, 5))
    assert [r.due_on for r in state_of(history).open_reviews] == [date(2026, 3, 5)]


def test_signing_off_a_review_closes_it_so_the_next_rise_asks_again() -> None:
    history = seeded(risk_level="low")
    history += when_risk_level_changed(
        state_of(history), RiskLevelFacts(PARTICIPANT, LATER_ASSESSMENT, "moderate", at(1)), at(1)
    )
    history = revise(history, at(2), review_completed=True)
    assert state_of(history).open_reviews == () and state_of(history).version == 2
    rise = when_risk_level_changed(state_of(history), RiskLevelFacts(PARTICIPANT, RELAPSE, "high", at(3)), at(3))
    assert len(reviews(rise)) == 1


def test_a_risk_change_without_a_plan_does_nothing() -> None:
    assert when_risk_level_changed(PLAN.initial(), RiskLevelFacts(PARTICIPANT, ASSESSMENT, "high", T0), T0) == []


def test_a_hand_made_plan_takes_its_first_risk_level_as_the_baseline() -> None:
    events = when_risk_level_changed(state_of(drafted()), RiskLevelFacts(PARTICIPANT, ASSESSMENT, "high", T0), T0)
    assert [type(e) for e in events] == [PlanRiskLevelNoted]


# --- relapse and discharge -----------------------------------------------------------------------


def test_a_relapse_asks_for_an_urgent_review_due_the_next_day_once() -> None:
    history = seeded()
    events = when_relapse_reported(state_of(history), RelapseFacts(PARTICIPANT, RELAPSE, at(5)), at(5))
    (review,) = reviews(events)
    assert (review.reason, review.urgency, review.due_on) == (
        ReviewReason.RELAPSE_REPORTED,
        ReviewUrgency.URGENT,
        date(2026, 3, 3),
    )
    assert review.cause_id == RELAPSE
    assert when_relapse_reported(state_of([*history, *events]), RelapseFacts(PARTICIPANT, RELAPSE, at(5)), at(6)) == []


def test_a_relapse_without_a_plan_or_on_a_closed_plan_does_nothing() -> None:
    assert when_relapse_reported(PLAN.initial(), RelapseFacts(PARTICIPANT, RELAPSE, T0), T0) == []
    closed = revise(seeded(), at(1), status="revoked")
    assert when_relapse_reported(state_of(closed), RelapseFacts(PARTICIPANT, RELAPSE, T0), at(2)) == []


@pytest.mark.parametrize("path", [(), ("active",), ("active", "on-hold")])
def test_discharge_completes_an_open_plan(path: tuple[str, ...]) -> None:
    history = seeded()
    for i, status in enumerate(path):
        history = revise(history, at(i + 1), status=status)
    events = when_participant_discharged(state_of(history), DischargeFacts(PARTICIPANT, at(9)), at(9))
    (changed,) = of_type(events, PlanStatusChanged)
    assert isinstance(changed, PlanStatusChanged)
    assert (changed.to_status, changed.reason) == (PlanStatus.COMPLETED, StatusChangeReason.PARTICIPANT_DISCHARGED)
    after = state_of([*history, *events])
    assert after.status == PlanStatus.COMPLETED and after.version == len(path) + 2
    assert when_participant_discharged(after, DischargeFacts(PARTICIPANT, at(9)), at(10)) == []


def test_discharge_without_a_plan_does_nothing() -> None:
    assert when_participant_discharged(PLAN.initial(), DischargeFacts(PARTICIPANT, T0), T0) == []
