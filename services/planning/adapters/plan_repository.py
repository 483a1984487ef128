"""The plan stream in the shared event store: load, decide, append, project, in one transaction.

Every event of a decision goes into the plan's stream; the private version records
(``DomainEvent.private``) stay out of the outbox, keeping the plan's content in planning's
database and off the bus.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

from services.planning.domain.lifecycle import PlanNotFound
from services.planning.domain.state import PLAN, PlanState
from services.planning.projections.current_plan import project_current_plan
from shared.events import DomainEvent
from shared.uow import UnitOfWork


def stream_of(participant_id: UUID) -> str:
    return f"plan-{participant_id}"


async def load_plan(uow: UnitOfWork, participant_id: UUID, agency_id: str) -> tuple[PlanState, int]:
    """The plan's state and stream version; a plan of another agency looks exactly like none."""
    stored = await uow.store.read_stream(stream_of(participant_id), conn=uow.conn)
    if stored and stored[0].agency_id != agency_id:
        raise PlanNotFound("this participant has no plan yet", field="participant_id")
    return PLAN.fold(e.event for e in stored), (stored[-1].stream_version if stored else 0)


async def decide_plan(
    uow: UnitOfWork,
    participant_id: UUID,
    agency_id: str,
    decide: Callable[[PlanState], Sequence[DomainEvent]],
    now: datetime,
) -> list[DomainEvent]:
    """Load the plan, decide, append and refresh the current-plan read model; returns the new events."""
    state, version = await load_plan(uow, participant_id, agency_id)
    events = list(decide(state))
    if not events:
        return []
    # Every event goes into the stream; the unit of work leaves the private ones out of the outbox.
    await uow.append(
        stream_of(participant_id),
        PLAN.stream_type,
        events,
        expected_version=version,
        agency_id=agency_id,
        participant_id=participant_id,
        occurred_at=now,
    )
    after = PLAN.fold(events, state)
    await project_current_plan(uow.conn, participant_id, agency_id, after, now)
    return events
