"""The plan streams: the kernel's stream repository, with the current-plan read model projected
in the same transaction.

Every event of a decision goes into the plan's stream; the private version records
(``DomainEvent.private``) stay out of the outbox, keeping the plan's content in planning's
database and off the bus. A plan of another agency looks exactly like none.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.planning.adapters.tables import Tables
from services.planning.domain.lifecycle import PlanNotFound
from services.planning.domain.state import PLAN, PlanState
from shared.streams import Changed, StreamRepository
from shared.uow import UnitOfWork


def stream_of(participant_id: UUID) -> str:
    return f"plan-{participant_id}"


async def project_current_plan(uow: UnitOfWork, changes: Sequence[Changed[PlanState]]) -> None:
    tables: Tables = uow.tables
    for changed in changes:
        assert changed.participant_id is not None
        await tables.save_current_plan(changed.participant_id, changed.agency_id, changed.state, uow.now)


plans: StreamRepository[UUID, PlanState] = StreamRepository(
    PLAN,
    stream_of,
    project=project_current_plan,
    not_found=lambda: PlanNotFound("this participant has no plan yet", field="participant_id"),
)
