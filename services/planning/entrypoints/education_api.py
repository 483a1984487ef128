"""Planning HTTP API, education part: assigning and completing modules, and the catalogues."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from services.planning.application import handlers
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule, ModuleKey
from services.planning.domain.education import CATALOGUE
from services.planning.domain.strategies import LIBRARY, SITUATION_DESCRIPTIONS
from services.planning.entrypoints.api import check_readable, command_from, plan_shown, run_command
from shared.auth import Principal
from shared.limits import MAX_ID_LENGTH
from shared.roles import readers, staff, staff_or_participant
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1", tags=["education"])


class ModuleAssignmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    module: ModuleKey
    due_on: date | None = None


@router.post("/participants/{participant_id}/plan/education-modules", status_code=201)
async def assign_module(
    participant_id: UUID,
    body: ModuleAssignmentBody,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    command = command_from(
        AssignEducationModule,
        participant_id=participant_id,
        module=body.module,
        due_on=body.due_on,
        assigned_by=caller.sub,
    )
    await run_command(rt, request, caller, handlers.assign_module, command)
    return await plan_shown(rt, caller, participant_id, "plan shown after assigning a module", 201)


@router.post("/participants/{participant_id}/plan/education-modules/{module}/completion")
async def complete_module(
    participant_id: UUID,
    request: Request,
    module: str = Path(max_length=MAX_ID_LENGTH),
    caller: Principal = Depends(staff_or_participant),
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    """Mark a module done: by staff, or by the participant for their own plan."""
    check_readable(caller, participant_id)
    command = command_from(
        CompleteEducationModule, participant_id=participant_id, module=module, completed_by=caller.sub
    )
    await run_command(rt, request, caller, handlers.complete_module, command)
    return await plan_shown(rt, caller, participant_id, "plan shown after completing a module")


@router.get("/education-modules")
async def education_catalogue(caller: Principal = Depends(readers)) -> dict[str, Any]:
    modules = [{"key": m.key, "title": m.title, "summary": m.summary, "minutes": m.minutes} for m in CATALOGUE.values()]
    return {"modules": modules}


@router.get("/coping-strategies")
async def strategy_library(caller: Principal = Depends(readers)) -> dict[str, Any]:
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
