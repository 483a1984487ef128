"""Planning's command handlers, one shape: ``handle(command, uow)``; the caller's agency and the
time come with the unit of work."""

from __future__ import annotations

from services.planning.adapters.streams import plans
from services.planning.adapters.tables import Tables
from services.planning.domain.assignments import decide_assign_module, decide_complete_module
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule, DraftPlan, RevisePlan
from services.planning.domain.plan import decide_draft_plan, decide_revise_plan
from shared.domain import NotFound
from shared.uow import UnitOfWork


class ParticipantNotFound(NotFound):
    code = "participant-not-found"


async def draft_plan(command: DraftPlan, uow: UnitOfWork) -> None:
    # Only a participant enrolled (and not discharged) in the caller's agency can get a plan by hand.
    tables: Tables = uow.tables
    if not await tables.is_enrolled(command.participant_id, uow.caller_agency):
        raise ParticipantNotFound("no such participant", field="participant_id")
    await plans.execute(uow, command.participant_id, lambda s: decide_draft_plan(s, command, uow.now),
                        participant_id=command.participant_id)


async def revise_plan(command: RevisePlan, uow: UnitOfWork) -> None:
    await plans.execute(uow, command.participant_id, lambda s: decide_revise_plan(s, command, uow.now),
                        participant_id=command.participant_id)


async def assign_module(command: AssignEducationModule, uow: UnitOfWork) -> None:
    await plans.execute(uow, command.participant_id, lambda s: decide_assign_module(s, command, uow.now),
                        participant_id=command.participant_id)


async def complete_module(command: CompleteEducationModule, uow: UnitOfWork) -> None:
    await plans.execute(uow, command.participant_id, lambda s: decide_complete_module(s, command, uow.now),
                        participant_id=command.participant_id)
