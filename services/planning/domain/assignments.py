"""Deciding education-module assignments; each assignment or completion is a new plan version."""

from __future__ import annotations

from datetime import datetime

from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule
from services.planning.domain.sections import ModuleAssignment
from services.planning.domain.state import PlanState
from services.planning.domain.versioning import open_plan, record
from shared.catalogue.planning import EducationModuleAssigned, EducationModuleCompleted
from shared.domain import Conflict
from shared.events import DomainEvent


class ModuleNotAssigned(Conflict):
    code = "module-not-assigned"


class ModuleAlreadyAssigned(Conflict):
    code = "module-already-assigned"


def _current(state: PlanState, module: str) -> ModuleAssignment | None:
    assert state.document is not None
    return next((a for a in state.document.education if a.module == module), None)


def decide_assign_module(state: PlanState, command: AssignEducationModule, now: datetime) -> list[DomainEvent]:
    """Assign a module; a completed one may be assigned again as a refresher."""
    before = open_plan(state)
    assert state.plan_id is not None and state.participant_id is not None
    current = _current(state, command.module)
    if current is not None and current.completed_at is None:
        raise ModuleAlreadyAssigned(f"module {command.module} is already assigned and open", field="module")
    assignment = ModuleAssignment(module=command.module, assigned_at=now, due_on=command.due_on)
    others = tuple(a for a in before.education if a.module != command.module)
    after = before.model_copy(update={"education": (*others, assignment)})
    return [
        EducationModuleAssigned(
            participant_id=state.participant_id,
            plan_id=state.plan_id,
            module=command.module,
            version=state.version + 1,
            due_on=command.due_on,
            assigned_at=now,
        ),
        record(state, state.plan_id, state.participant_id, before, after, "module-assigned", command.assigned_by, now),
    ]


def decide_complete_module(state: PlanState, command: CompleteEducationModule, now: datetime) -> list[DomainEvent]:
    before = open_plan(state)
    assert state.plan_id is not None and state.participant_id is not None
    current = _current(state, command.module)
    if current is None:
        raise ModuleNotAssigned(f"module {command.module} is not assigned on this plan", field="module")
    if current.completed_at is not None:
        raise ModuleNotAssigned(f"module {command.module} is already completed", field="module")
    done = current.model_copy(update={"completed_at": now})
    after = before.model_copy(
        update={"education": tuple(done if a.module == command.module else a for a in before.education)}
    )
    return [
        EducationModuleCompleted(
            participant_id=state.participant_id,
            plan_id=state.plan_id,
            module=command.module,
            version=state.version + 1,
            completed_at=now,
        ),
        record(
            state, state.plan_id, state.participant_id, before, after, "module-completed", command.completed_by, now
        ),
    ]
