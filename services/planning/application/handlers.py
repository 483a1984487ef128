"""Command handlers: each takes an order, a unit of work, the caller's agency and the time."""

from __future__ import annotations

from datetime import datetime

from services.planning.adapters.plan_repository import decide_plan
from services.planning.domain.assignments import decide_assign_module, decide_complete_module
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule, DraftPlan, RevisePlan
from services.planning.domain.plan import decide_draft_plan, decide_revise_plan
from services.planning.projections.current_plan import is_enrolled
from shared.domain import NotFound
from shared.uow import UnitOfWork


class ParticipantNotFound(NotFound):
    code = "participant-not-found"


async def draft_plan(command: DraftPlan, uow: UnitOfWork, agency_id: str, now: datetime) -> None:
    # Only a participant enrolled (and not discharged) in the caller's agency can get a plan by hand.
    if not await is_enrolled(uow.conn, command.participant_id, agency_id):
        raise ParticipantNotFound("no such participant", field="participant_id")
    await decide_plan(uow, command.participant_id, agency_id, lambda s: decide_draft_plan(s, command, now), now)


async def revise_plan(command: RevisePlan, uow: UnitOfWork, agency_id: str, now: datetime) -> None:
    await decide_plan(uow, command.participant_id, agency_id, lambda s: decide_revise_plan(s, command, now), now)


async def assign_module(command: AssignEducationModule, uow: UnitOfWork, agency_id: str, now: datetime) -> None:
    await decide_plan(uow, command.participant_id, agency_id, lambda s: decide_assign_module(s, command, now), now)


async def complete_module(command: CompleteEducationModule, uow: UnitOfWork, agency_id: str, now: datetime) -> None:
    await decide_plan(uow, command.participant_id, agency_id, lambda s: decide_complete_module(s, command, now), now)
