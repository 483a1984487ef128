"""Planning's own tables as its command handlers see them: who is enrolled, and the current plan.

:class:`PostgresTables` is what a unit of work carries in the service (``uow.tables``);
:class:`InMemoryTables` is its fake for the handlers' unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.planning.domain.state import PlanState
from services.planning.projections import current_plan
from shared.keyring import KeyRing


class Tables(Protocol):
    async def is_enrolled(self, participant_id: UUID, agency_id: str) -> bool:
        """True when the participant is enrolled in the agency and not discharged."""
        ...

    async def record_enrolment(self, participant_id: UUID, agency_id: str, at: datetime) -> None: ...

    async def record_discharge(self, participant_id: UUID, agency_id: str, at: datetime) -> None: ...

    async def save_current_plan(self, participant_id: UUID, agency_id: str, state: PlanState, at: datetime) -> None:
        """The current-plan read model after a decision (nothing while there is no plan)."""
        ...


@dataclass(frozen=True)
class PostgresTables:
    conn: Any
    #: seals the current plan's content under the participant's data key
    keys: KeyRing

    async def is_enrolled(self, participant_id: UUID, agency_id: str) -> bool:
        return await current_plan.is_enrolled(self.conn, participant_id, agency_id)

    async def record_enrolment(self, participant_id: UUID, agency_id: str, at: datetime) -> None:
        await current_plan.record_enrolment(self.conn, participant_id, agency_id, at)

    async def record_discharge(self, participant_id: UUID, agency_id: str, at: datetime) -> None:
        await current_plan.record_discharge(self.conn, participant_id, agency_id, at)

    async def save_current_plan(self, participant_id: UUID, agency_id: str, state: PlanState, at: datetime) -> None:
        await current_plan.project_current_plan(self.conn, participant_id, agency_id, state, at, self.keys)


@dataclass
class InMemoryTables:
    #: participant -> (agency, discharged)
    participants: dict[UUID, tuple[str, bool]] = field(default_factory=dict)
    #: participant -> (agency, plan state) as the current-plan read model holds it
    plans: dict[UUID, tuple[str, PlanState]] = field(default_factory=dict)

    async def is_enrolled(self, participant_id: UUID, agency_id: str) -> bool:
        return self.participants.get(participant_id) == (agency_id, False)

    async def record_enrolment(self, participant_id: UUID, agency_id: str, at: datetime) -> None:
        self.participants.setdefault(participant_id, (agency_id, False))

    async def record_discharge(self, participant_id: UUID, agency_id: str, at: datetime) -> None:
        if self.participants.get(participant_id, (None,))[0] == agency_id:
            self.participants[participant_id] = (agency_id, True)

    async def save_current_plan(self, participant_id: UUID, agency_id: str, state: PlanState, at: datetime) -> None:
        if state.document is not None and state.plan_id is not None:
            self.plans[participant_id] = (agency_id, state)
