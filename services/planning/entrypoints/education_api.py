"""Planning HTTP API, education part: assigning and completing modules, and the catalogues."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from services.planning.application import handlers
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule, ModuleKey
from services.planning.domain.education import CATALOGUE
from services.planning.domain.strategies import LIBRARY, SITUATION_DESCRIPTIONS
from services.planning.entrypoints.api import check_readable, command_from, edit_plan
from shared.limits import MAX_ID_LENGTH
from shared.routes import ReaderCall, StaffCall, StaffOrParticipantCall

router = APIRouter(prefix="/v1", tags=["education"])


class ModuleAssignmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    module: ModuleKey
    due_on: date | None = None


@router.post("/participants/{participant_id}/plan/education-modules", status_code=201)
async def assign_module(participant_id: UUID, body: ModuleAssignmentBody, call: StaffCall) -> JSONResponse:
    command = command_from(
        AssignEducationModule, participant_id=participant_id, module=body.module, due_on=body.due_on,
        assigned_by=call.caller.sub,
    )
    return await edit_plan(call, handlers.assign_module, command, "plan shown after assigning a module", 201)


@router.post("/participants/{participant_id}/plan/education-modules/{module}/completion")
async def complete_module(
    participant_id: UUID, call: StaffOrParticipantCall, module: str = Path(max_length=MAX_ID_LENGTH)
) -> JSONResponse:
    """Mark a module done: by staff, or by the participant for their own plan."""
    check_readable(call.caller, participant_id)
    command = command_from(
        CompleteEducationModule, participant_id=participant_id, module=module, completed_by=call.caller.sub
    )
    return await edit_plan(call, handlers.complete_module, command, "plan shown after completing a module")


@router.get("/education-modules")
async def education_catalogue(call: ReaderCall) -> dict[str, Any]:
    modules = [{"key": m.key, "title": m.title, "summary": m.summary, "minutes": m.minutes} for m in CATALOGUE.values()]
    return {"modules": modules}


@router.get("/coping-strategies")
async def strategy_library(call: ReaderCall) -> dict[str, Any]:
    return {
        "situations": [
            {
                "category": category.value,
                "description": SITUATION_DESCRIPTIONS[category],
                "strategies": [{"key": s.key, "title": s.title, "how": s.how} for s in strategies],
            }
            for category, strategies in LIBRARY.items()
        ]
    }
