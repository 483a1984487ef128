from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from services.planning.domain.lifecycle import (
    ForbiddenTransition,
    PlanAlreadyExists,
    PlanClosed,
    PlanNotFound,
    PlanVersionConflict,
)
from services.planning.domain.plan import decide_draft_plan, decide_revise_plan
from services.planning.domain.recorded import PlanDocument, PlanVersionRecorded
from services.planning.domain.sections import PlanContent, WarningSign
from services.planning.domain.state import PLAN, plan_id_for
from shared.catalogue.planning import (
    GoalStatus,
    GoalStatusChanged,
    PlanCreated,
    PlanOutline,
    PlanSection,
    PlanStatus,
    PlanStatusChanged,
    PlanUpdated,
    StatusChangeReason,
    WarningSignTag,
)
from shared.domain import InvalidCommand
from shared.testing.gwt import given

from .planning_builders import PARTICIPANT, SPECIALIST, T0, at, drafted, revise, revise_command, state_of

pytestmark = pytest.mark.unit

PLAN_ID = plan_id_for(PARTICIPANT)
SIGN_ID = UUID("44444444-4444-4444-8444-444444444444")
GOAL_ID = UUID("55555555-5555-4555-8555-555555555555")
SIGN = {"id": str(SIGN_ID), "text": "Skipping meals and staying up late", "tags": ["sleep-disruption"]}


def goal(status: str, goal_id: UUID = GOAL_ID) -> dict[str, Any]:
    return {"id": str(goal_id), "description": "Walk every morning", "status": status}


def test_drafting_a_plan_creates_version_one_in_draft_with_its_record() -> None:
    command_sections = {"warning_signs": [SIGN]}
    document = PlanDocument(
        status=PlanStatus.DRAFT,
        content=PlanContent(
            warning_signs=(WarningSign(id=SIGN_ID, text=SIGN["text"], tags=(WarningSignTag.SLEEP_DISRUPTION,)),)
        ),
    )
    from services.planning.domain.commands import DraftPlan

    command = DraftPlan.model_validate(
        {"participant_id": PARTICIPANT, "sections": command_sections, "drafted_by": SPECIALIST}
    )
    given(PLAN).when(lambda s: decide_draft_plan(s, command, T0)).then(
        PlanCreated(
            participant_id=PARTICIPANT,
            plan_id=PLAN_ID,
            version=1,
            status="draft",
            outline=PlanOutline(warning_signs=1, warning_sign_tags=(WarningSignTag.SLEEP_DISRUPTION,)),
            created_at=T0,
        ),
        PlanVersionRecorded(
            participant_id=PARTICIPANT,
            plan_id=PLAN_ID,
            version=1,
            change="drafted",
            sections_changed=(PlanSection.WARNING_SIGNS,),
            changed_by=SPECIALIST,
            recorded_at=T0,
            document=document,
        ),
    )


def test_a_participant_has_only_one_plan() -> None:
    from services.planning.domain.commands import DraftPlan

    command = DraftPlan(participant_id=PARTICIPANT, drafted_by=SPECIALIST)
    given(PLAN, *drafted()).when(lambda s: decide_draft_plan(s, command, T0)).then_fails(PlanAlreadyExists)


def test_items_without_ids_get_stable_ids_derived_from_plan_version_and_position() -> None:
    first = state_of(drafted({"warning_signs": [{"text": "Isolating"}]}))
    again = state_of(drafted({"warning_signs": [{"text": "Isolating"}]}))
    assert first.document is not None and again.document is not None
    assert first.document.content.warning_signs[0].id is not None
    assert first.document == again.document


def test_a_revision_makes_the_next_version_and_names_the_sections_it_changed() -> None:
    history = drafted({"warning_signs": [SIGN]})
    events = decide_revise_plan(
        state_of(history),
        revise_command(1, sections={"daily_routine": [{"at": "07:30", "activity": "Breakfast and a walk"}]}),
        at(1),
    )
    updated = events[0]
    assert isinstance(updated, PlanUpdated)
    assert (updated.version, updated.sections_changed, updated.status) == (
        2,
        (PlanSection.DAILY_ROUTINE,),
        PlanStatus.DRAFT,
    )
    assert updated.outline.routine_entries == 1 and updated.outline.warning_signs == 1
    assert isinstance(events[-1], PlanVersionRecorded) and events[-1].version == 2
    assert state_of([*history, *events]).version == 2


def test_sections_left_out_of_a_revision_stay_as_they_were() -> None:
    history = revise(drafted({"warning_signs": [SIGN]}), at(1), sections={"goals": [goal("proposed")]})
    document = state_of(history).document
    assert document is not None
    assert [s.text for s in document.content.warning_signs] == [SIGN["text"]]


def test_a_stale_version_is_refused_with_the_current_version() -> None:
    history = revise(drafted(), at(1), sections={"warning_signs": [SIGN]})
    error = (
        given(PLAN, *history)
        .when(lambda s: decide_revise_plan(s, revise_command(1, sections={"goals": []}), at(2)))
        .then_fails(PlanVersionConflict)
    )
    assert isinstance(error, PlanVersionConflict)
    assert (error.expected, error.current, error.status) == (1, 2, 412)


def test_revising_without_a_plan_is_not_found() -> None:
    given(PLAN).when(lambda s: decide_revise_plan(s, revise_command(1), T0)).then_fails(PlanNotFound)


def test_a_revision_that_changes_nothing_makes_no_new_version() -> None:
    history = drafted({"warning_signs": [SIGN]})
    given(PLAN, *history).when(
        lambda s: decide_revise_plan(s, revise_command(1, sections={"warning_signs": [SIGN]}), at(1))
    ).then()


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ((), "active", True),
        ((), "revoked", True),
        ((), "on-hold", False),
        ((), "completed", False),
        (("active",), "on-hold", True),
        (("active",), "completed", True),
        (("active",), "revoked", True),
        (("active",), "draft", False),
        (("active", "on-hold"), "active", True),
        (("active", "on-hold"), "completed", True),
        (("active", "on-hold"), "draft", False),
    ],
)
def test_plan_status_moves_follow_the_lifecycle(path: tuple[str, ...], target: str, allowed: bool) -> None:
    history = drafted()
    for i, status in enumerate(path):
        history = revise(history, at(i + 1), status=status)
    scenario = given(PLAN, *history).when(
        lambda s: decide_revise_plan(s, revise_command(s.version, status=target), at(10))
    )
    if allowed:
        state = state_of(history)
        events = decide_revise_plan(state, revise_command(state.version, status=target), at(10))
        moved = [e for e in events if isinstance(e, PlanStatusChanged)]
        assert [(m.from_status, m.to_status, m.reason) for m in moved] == [
            (PlanStatus(path[-1] if path else "draft"), PlanStatus(target), StatusChangeReason.REQUESTED)
        ]
    else:
        assert scenario.then_fails(ForbiddenTransition).field == "status"


@pytest.mark.parametrize("closed", ["completed", "revoked"])
def test_a_closed_plan_takes_no_more_changes(closed: str) -> None:
    history = revise(drafted(), at(1), status="active")
    history = revise(history, at(2), status=closed)
    given(PLAN, *history).when(
        lambda s: decide_revise_plan(s, revise_command(3, sections={"warning_signs": [SIGN]}), at(3))
    ).then_fails(PlanClosed)


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        ("proposed", "active", True),
        ("proposed", "cancelled", True),
        ("proposed", "completed", False),
        ("active", "completed", True),
        ("active", "cancelled", True),
        ("active", "proposed", False),
        ("completed", "active", False),
        ("cancelled", "active", False),
        ("completed", "cancelled", False),
    ],
)
def test_goal_status_moves_follow_the_goal_lifecycle(before: str, after: str, allowed: bool) -> None:
    path = {"proposed": [], "active": ["active"], "completed": ["active", "completed"]}
    path["cancelled"] = ["cancelled"]
    history = drafted({"goals": [goal("proposed")]})
    for i, status in enumerate(path[before]):
        history = revise(history, at(i + 1), sections={"goals": [goal(status)]})
    scenario = given(PLAN, *history).when(
        lambda s: decide_revise_plan(s, revise_command(s.version, sections={"goals": [goal(after)]}), at(9))
    )
    if allowed:
        state = state_of(history)
        events = decide_revise_plan(state, revise_command(state.version, sections={"goals": [goal(after)]}), at(9))
        moves = [e for e in events if isinstance(e, GoalStatusChanged)]
        assert [(m.goal_id, m.from_status, m.to_status) for m in moves] == [
            (GOAL_ID, GoalStatus(before), GoalStatus(after))
        ]
    else:
        error = scenario.then_fails(ForbiddenTransition)
        assert error.field == "sections.goals[0].status"
        assert f"a {before} goal cannot become {after}" in error.message


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_a_new_goal_starts_proposed_or_active(status: str) -> None:
    given(PLAN, *drafted()).when(
        lambda s: decide_revise_plan(s, revise_command(1, sections={"goals": [goal(status)]}), at(1))
    ).then_fails(ForbiddenTransition)


def test_goals_are_cancelled_rather_than_deleted() -> None:
    history = drafted({"goals": [goal("proposed")]})
    error = (
        given(PLAN, *history)
        .when(lambda s: decide_revise_plan(s, revise_command(1, sections={"goals": []}), at(1)))
        .then_fails(InvalidCommand)
    )
    assert error.field == "sections.goals" and str(GOAL_ID) in error.message


def test_an_item_id_repeated_within_a_section_is_refused() -> None:
    error = (
        given(PLAN, *drafted())
        .when(lambda s: decide_revise_plan(s, revise_command(1, sections={"warning_signs": [SIGN, SIGN]}), at(1)))
        .then_fails(InvalidCommand)
    )
    assert error.field == "sections.warning_signs"


def test_a_status_move_together_with_edits_is_one_version() -> None:
    history = revise(drafted(), at(1), status="active", sections={"warning_signs": [SIGN]})
    records = [e for e in history if isinstance(e, PlanVersionRecorded)]
    assert [(r.version, r.change) for r in records] == [(1, "drafted"), (2, "revised")]
    assert state_of(history).status == PlanStatus.ACTIVE
