"""Intake HTTP API."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from services.intake.application import slice as handlers
from shared.auth import Principal
from shared.http import require_roles
from shared.runtime import Runtime, command_metadata, runtime

router = APIRouter(prefix="/v1")
staff = require_roles("specialist", "supervisor", "agency_admin")


@router.post("/participants", status_code=status.HTTP_201_CREATED)
async def enrol(
    body: handlers.EnrolParticipant, request: Request, caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    async with rt.uow(command_metadata(request, caller)) as uow:
        participant_id = await handlers.enrol_participant(body, uow, caller.agency_id)
    return {"participant_id": str(participant_id)}


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED)
async def record_assessment(
    participant_id: UUID, body: handlers.RecordPhq9, request: Request, caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    async with rt.uow(command_metadata(request, caller)) as uow:
        assessment_id = await handlers.record_phq9(participant_id, body, uow, caller.agency_id)
    return {"assessment_id": str(assessment_id)}
