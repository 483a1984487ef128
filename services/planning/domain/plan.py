"""Deciding plan changes: drafting, revising sections and status, and closing on discharge."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.planning.domain.commands import DraftPlan, RevisePlan
from services.planning.domain.lifecycle import (
    NEW_GOAL_STATUSES,
    ForbiddenTransition,
    PlanAlreadyExists,
    PlanVersionConflict,
    check_goal_transition,
    check_plan_transition,
)
from services.planning.domain.outline import outline_of
from services.planning.domain.recorded import ChangeKind, PlanDocument
from services.planning.domain.sections import Goal, PlanContent
from services.planning.domain.state import PlanState, plan_id_for
from services.planning.domain.versioning import open_plan, record, with_ids
from shared.catalogue.planning import (
    GoalStatusChanged,
    PlanCreated,
    PlanStatus,
    PlanStatusChanged,
    PlanUpdated,
    StatusChangeReason,
)
from shared.domain import InvalidCommand
from shared.events import DomainEvent


def _check_new_goals(goals: tuple[Goal, ...]) -> None:
    for i, goal in enumerate(goals):
        if goal.status not in NEW_GOAL_STATUSES:
            raise ForbiddenTransition(
                f"a new goal starts as proposed or active, not {goal.status}", field=f"sections.goals[{i}].status"
            )


def decide_draft_plan(state: PlanState, command: DraftPlan, now: datetime) -> list[DomainEvent]:
    if state.exists:
        raise PlanAlreadyExists("this participant already has a plan; revise it instead", field="participant_id")
    plan_id = plan_id_for(command.participant_id)
    content = with_ids(PlanContent(**command.sections.given()), plan_id, 1)
    _check_new_goals(content.goals)
    document = PlanDocument(status=PlanStatus.DRAFT, content=content)
    return draft_events(state, command.participant_id, document, "drafted", command.drafted_by, now)


def draft_events(
    state: PlanState,
    participant_id: UUID,
    document: PlanDocument,
    change: ChangeKind,
    changed_by: str,
    now: datetime,
) -> list[DomainEvent]:
    """PlanCreated plus the private record of version 1."""
    plan_id = plan_id_for(participant_id)
    created = PlanCreated(
        participant_id=participant_id,
        plan_id=plan_id,
        version=1,
        status=document.status,
        source_assessment_id=document.source_assessment_id,
        outline=outline_of(document),
        created_at=now,
    )
    return [created, record(state, plan_id, participant_id, None, document, change, changed_by, now)]


def _goal_moves(before: PlanContent, after: PlanContent) -> list[tuple[Goal, Goal]]:
    """Pairs (old, new) of goals whose status changed; rejects forbidden moves and deletions."""
    old = {g.id: g for g in before.goals}
    new_ids = {g.id for g in after.goals}
    missing = [str(goal_id) for goal_id in old if goal_id not in new_ids]
    if missing:
        raise InvalidCommand(
            f"goals are never deleted (cancel them instead); missing: {', '.join(missing)}",
            field="sections.goals",
        )
    moves = []
    for i, goal in enumerate(after.goals):
        previous = old.get(goal.id)
        if previous is None:
            _check_new_goals((goal,))
        elif previous.status != goal.status:
            check_goal_transition(previous.status, goal.status, field=f"sections.goals[{i}].status")
            moves.append((previous, goal))
    return moves


def decide_revise_plan(state: PlanState, command: RevisePlan, now: datetime) -> list[DomainEvent]:
    before = open_plan(state)
    if command.expected_version != state.version:
        raise PlanVersionConflict(command.expected_version, state.version)
    assert state.plan_id is not None and state.participant_id is not None
    version = state.version + 1
    patched = PlanContent(**{**dict(before.content), **command.sections.given()})
    content = with_ids(patched, state.plan_id, version)
    moves = _goal_moves(before.content, content)
    status = command.status or before.status
    if status != before.status:
        check_plan_transition(before.status, status)
    after = before.model_copy(update={"content": content, "status": status})
    review_done = command.review_completed and bool(state.open_reviews)
    if after == before and not review_done:
        return []  # nothing to change: no new version
    change: ChangeKind = "revised"
    if after.content == before.content:
        change = "status-changed" if status != before.status else "review-completed"
    rec = record(state, state.plan_id, state.participant_id, before, after, change, command.changed_by, now)
    ids = {"participant_id": state.participant_id, "plan_id": state.plan_id, "version": version}
    events: list[DomainEvent] = [
        PlanUpdated(
            **ids,
            status=status,
            sections_changed=rec.sections_changed,
            outline=outline_of(after),
            review_completed=review_done,
            updated_at=now,
        )
    ]
    if status != before.status:
        events.append(
            PlanStatusChanged(
                **ids,
                from_status=before.status,
                to_status=status,
                reason=StatusChangeReason.REQUESTED,
                changed_at=now,
            )
        )
    for old, new in moves:
        assert new.id is not None
        events.append(
            GoalStatusChanged(**ids, goal_id=new.id, from_status=old.status, to_status=new.status, changed_at=now)
        )
    return [*events, rec]


def complete_on_discharge(state: PlanState, changed_by: str, now: datetime) -> list[DomainEvent]:
    """Discharge ends any open plan (draft, active or on hold) as completed."""
    before = open_plan(state)
    assert state.plan_id is not None and state.participant_id is not None
    after = before.model_copy(update={"status": PlanStatus.COMPLETED})
    rec = record(state, state.plan_id, state.participant_id, before, after, "completed-on-discharge", changed_by, now)
    changed = PlanStatusChanged(
        participant_id=state.participant_id,
        plan_id=state.plan_id,
        version=state.version + 1,
        from_status=before.status,
        to_status=PlanStatus.COMPLETED,
        reason=StatusChangeReason.PARTICIPANT_DISCHARGED,
        changed_at=now,
    )
    return [changed, rec]
