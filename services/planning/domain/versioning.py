"""Shared steps of every decision that makes a new plan version."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from services.planning.domain.lifecycle import OPEN_PLAN_STATUSES, PlanClosed, PlanNotFound
from services.planning.domain.outline import sections_changed
from services.planning.domain.recorded import ChangeKind, PlanDocument, PlanVersionRecorded
from services.planning.domain.sections import EDITABLE_SECTIONS, PlanContent
from services.planning.domain.state import PlanState
from shared.domain import InvalidCommand


def open_plan(state: PlanState) -> PlanDocument:
    """The current document of a plan that still takes changes, or the error saying why not."""
    if state.document is None:
        raise PlanNotFound("this participant has no plan yet", field="participant_id")
    if state.document.status not in OPEN_PLAN_STATUSES:
        raise PlanClosed(f"the plan is {state.document.status} and takes no more changes", field="status")
    return state.document


def record(
    state: PlanState,
    plan_id: UUID,
    participant_id: UUID,
    before: PlanDocument | None,
    after: PlanDocument,
    change: ChangeKind,
    changed_by: str,
    now: datetime,
) -> PlanVersionRecorded:
    """The private record of the next version (its full document, the sections that changed)."""
    empty = PlanDocument(status=after.status)
    return PlanVersionRecorded(
        participant_id=participant_id,
        plan_id=plan_id,
        version=state.version + 1,
        change=change,
        sections_changed=sections_changed(before or empty, after),
        changed_by=changed_by,
        recorded_at=now,
        document=after,
    )


def _with_id(item: Any, seed: str, plan_id: UUID) -> Any:
    updates: dict[str, Any] = {}
    if item.id is None:
        updates["id"] = uuid5(plan_id, seed)
    strategies = getattr(item, "strategies", None)
    if strategies:
        updates["strategies"] = tuple(_with_id(s, f"{seed}/strategies/{j}", plan_id) for j, s in enumerate(strategies))
    return item.model_copy(update=updates) if updates else item


def with_ids(content: PlanContent, plan_id: UUID, version: int) -> PlanContent:
    """Give every item without an id a deterministic one; reject ids repeated within a section.

    Deterministic ids (from plan, version, section and position) keep the domain free of random
    numbers, so replaying a decision gives the same plan.
    """
    sections: dict[str, tuple[Any, ...]] = {}
    for name in EDITABLE_SECTIONS:
        items = tuple(_with_id(item, f"{version}/{name}/{i}", plan_id) for i, item in enumerate(getattr(content, name)))
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidCommand(f"section {name} repeats an item id", field=f"sections.{name}")
        sections[name] = items
    return PlanContent(**sections)
