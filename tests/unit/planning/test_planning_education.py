from __future__ import annotations

from datetime import date

import pytest

from services.planning.domain.assignments import (
    ModuleAlreadyAssigned,
    ModuleNotAssigned,
    decide_assign_module,
    decide_complete_module,
)
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule
from services.planning.domain.education import CATALOGUE
from services.planning.domain.lifecycle import PlanClosed, PlanNotFound
from services.planning.domain.recorded import PlanVersionRecorded
from services.planning.domain.state import PLAN, plan_id_for
from shared.catalogue.planning import EducationModuleAssigned, EducationModuleCompleted, PlanSection
from shared.testing.gwt import given

from .planning_builders import PARTICIPANT, SPECIALIST, at, drafted, revise, state_of

pytestmark = pytest.mark.unit

MODULE = "coping-with-cravings"
ASSIGN = AssignEducationModule(
    participant_id=PARTICIPANT, module=MODULE, due_on=date(2026, 3, 9), assigned_by=SPECIALIST
)
COMPLETE = CompleteEducationModule(participant_id=PARTICIPANT, module=MODULE, completed_by="participant-1")


def test_the_catalogue_covers_the_core_topics_with_own_descriptions() -> None:
    core = {
        "nature-of-addiction",
        "recovery-process",
        "relapse-warning-signs",
        "coping-with-cravings",
        "neurobiology-of-addiction",
        "co-occurring-conditions",
    }
    assert core <= set(CATALOGUE)
    assert all(m.title and m.summary and m.minutes > 0 for m in CATALOGUE.values())


def test_assigning_a_module_makes_a_new_version_with_the_education_section_changed() -> None:
    events = decide_assign_module(state_of(drafted()), ASSIGN, at(1))
    assigned, recorded = events
    assert assigned == EducationModuleAssigned(
        participant_id=PARTICIPANT,
        plan_id=plan_id_for(PARTICIPANT),
        module=MODULE,
        version=2,
        due_on=date(2026, 3, 9),
        assigned_at=at(1),
    )
    assert isinstance(recorded, PlanVersionRecorded)
    assert recorded.sections_changed == (PlanSection.EDUCATION,) and recorded.change == "module-assigned"
    assert [a.module for a in recorded.document.education] == [MODULE]


def test_completing_an_assigned_module_records_when() -> None:
    history = [*drafted(), *decide_assign_module(state_of(drafted()), ASSIGN, at(1))]
    events = decide_complete_module(state_of(history), COMPLETE, at(2))
    assert events[0] == EducationModuleCompleted(
        participant_id=PARTICIPANT, plan_id=plan_id_for(PARTICIPANT), module=MODULE, version=3, completed_at=at(2)
    )
    document = state_of([*history, *events]).document
    assert document is not None and document.education[0].completed_at == at(2)


def test_an_open_module_cannot_be_assigned_twice() -> None:
    history = [*drafted(), *decide_assign_module(state_of(drafted()), ASSIGN, at(1))]
    given(PLAN, *history).when(lambda s: decide_assign_module(s, ASSIGN, at(2))).then_fails(ModuleAlreadyAssigned)


def test_a_completed_module_can_be_assigned_again_as_a_refresher() -> None:
    history = [*drafted(), *decide_assign_module(state_of(drafted()), ASSIGN, at(1))]
    history += decide_complete_module(state_of(history), COMPLETE, at(2))
    history += decide_assign_module(state_of(history), ASSIGN, at(3))
    document = state_of(history).document
    assert document is not None
    assert [(a.module, a.completed_at) for a in document.education] == [(MODULE, None)]


def test_only_an_assigned_open_module_can_be_completed() -> None:
    given(PLAN, *drafted()).when(lambda s: decide_complete_module(s, COMPLETE, at(1))).then_fails(ModuleNotAssigned)
    history = [*drafted(), *decide_assign_module(state_of(drafted()), ASSIGN, at(1))]
    history += decide_complete_module(state_of(history), COMPLETE, at(2))
    given(PLAN, *history).when(lambda s: decide_complete_module(s, COMPLETE, at(3))).then_fails(
        ModuleNotAssigned, match="already completed"
    )


def test_modules_need_an_open_plan() -> None:
    given(PLAN).when(lambda s: decide_assign_module(s, ASSIGN, at(1))).then_fails(PlanNotFound)
    closed = revise(drafted(), at(1), status="revoked")
    given(PLAN, *closed).when(lambda s: decide_assign_module(s, ASSIGN, at(2))).then_fails(PlanClosed)
