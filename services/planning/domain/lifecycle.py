"""Allowed moves of a plan and of a goal through their lifecycles, and the errors for the rest."""

from __future__ import annotations

from shared.catalogue.planning import GoalStatus as G
from shared.catalogue.planning import PlanStatus as P
from shared.domain import Conflict, DomainError, NotFound

PLAN_TRANSITIONS: dict[P, frozenset[P]] = {
    P.DRAFT: frozenset({P.ACTIVE, P.REVOKED}),
    P.ACTIVE: frozenset({P.ON_HOLD, P.COMPLETED, P.REVOKED}),
    P.ON_HOLD: frozenset({P.ACTIVE, P.COMPLETED, P.REVOKED}),
    P.COMPLETED: frozenset(),
    P.REVOKED: frozenset(),
}
"""Moves a specialist may make. Discharge completes any open plan, a draft included."""

OPEN_PLAN_STATUSES = frozenset({P.DRAFT, P.ACTIVE, P.ON_HOLD})

GOAL_TRANSITIONS: dict[G, frozenset[G]] = {
    G.PROPOSED: frozenset({G.ACTIVE, G.CANCELLED}),
    G.ACTIVE: frozenset({G.COMPLETED, G.CANCELLED}),
    G.COMPLETED: frozenset(),
    G.CANCELLED: frozenset(),
}
"""A goal is agreed (active) before it can be completed; completed and cancelled are final."""

NEW_GOAL_STATUSES = frozenset({G.PROPOSED, G.ACTIVE})


class PlanNotFound(NotFound):
    code = "plan-not-found"


class PlanAlreadyExists(Conflict):
    code = "plan-already-exists"


class PlanClosed(Conflict):
    """The plan is completed or revoked: its history stays, it takes no more changes."""

    code = "plan-closed"


class ForbiddenTransition(Conflict):
    code = "forbidden-transition"


class PlanVersionConflict(DomainError):
    """The edit was based on a version that is no longer current (HTTP 412)."""

    status = 412
    code = "plan-version-conflict"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"the plan is at version {current}, the edit was based on version {expected}", field="If-Match"
        )
        self.expected = expected
        self.current = current


def check_plan_transition(current: P, target: P) -> None:
    if target not in PLAN_TRANSITIONS[current]:
        raise ForbiddenTransition(f"a {current} plan cannot become {target}", field="status")


def check_goal_transition(current: G, target: G, *, field: str) -> None:
    if current != target and target not in GOAL_TRANSITIONS[current]:
        allowed = ", ".join(sorted(GOAL_TRANSITIONS[current])) or "nothing (it is final)"
        raise ForbiddenTransition(f"a {current} goal cannot become {target}; allowed: {allowed}", field=field)
