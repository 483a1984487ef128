"""Properties of the plan aggregate over arbitrary sequences of edits."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from services.planning.domain.lifecycle import GOAL_TRANSITIONS, PLAN_TRANSITIONS, ForbiddenTransition, PlanClosed
from services.planning.domain.plan import decide_revise_plan
from services.planning.domain.recorded import PlanVersionRecorded
from shared.catalogue.planning import GoalStatus, GoalStatusChanged, PlanStatus, PlanStatusChanged
from shared.events import DomainEvent

from .planning_builders import at, drafted, revise_command, state_of

pytestmark = pytest.mark.unit

GOAL = UUID("99999999-9999-4999-8999-999999999999")
edits = st.lists(
    st.one_of(
        st.tuples(st.just("goal"), st.sampled_from(list(GoalStatus))),
        st.tuples(st.just("plan"), st.sampled_from(list(PlanStatus))),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@for_all(steps=edits)
def test_any_sequence_of_edits_keeps_versions_contiguous_and_moves_within_the_lifecycles(
    steps: list[tuple[str, str]],
) -> None:
    history: list[DomainEvent] = drafted({"goals": [{"id": str(GOAL), "description": "Walk daily"}]})
    for hour, (kind, target) in enumerate(steps, start=1):
        state = state_of(history)
        assert state.document is not None
        goal = state.document.content.goals[0].model_dump(mode="json")
        body = {"sections": {"goals": [{**goal, "status": target}]}} if kind == "goal" else {"status": target}
        try:
            new = decide_revise_plan(state, revise_command(state.version, **body), at(hour))
        except (ForbiddenTransition, PlanClosed):
            continue  # a refused edit leaves the history exactly as it was
        records = [e for e in new if isinstance(e, PlanVersionRecorded)]
        assert len(records) == (1 if new else 0)
        # every event of the decision speaks of the one new version
        assert {e.model_dump()["version"] for e in new} <= {state.version + 1}
        for e in new:
            if isinstance(e, GoalStatusChanged):
                assert e.to_status in GOAL_TRANSITIONS[e.from_status]
            if isinstance(e, PlanStatusChanged):
                assert e.to_status in PLAN_TRANSITIONS[e.from_status]
        history += new
    versions = [e.version for e in history if isinstance(e, PlanVersionRecorded)]
    assert versions == list(range(1, len(versions) + 1))
    final = state_of(history)
    assert final.version == versions[-1]
    assert final.document == next(e for e in reversed(history) if isinstance(e, PlanVersionRecorded)).document
