"""Routes of the referral inbox: the receiving agency lists, accepts and declines referrals made
to it; the referring agency sees each referral's outcome."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from services.intake.adapters import records
from services.intake.adapters import referral_records as rows
from services.intake.application import referral_inbox
from services.intake.domain.referral_inbox import NOT_FOUND_MESSAGE, AcceptReferral, DeclineReferral
from services.intake.entrypoints.common import Json, now, staff
from shared.auth import Principal
from shared.domain import NotFound
from shared.runtime import Runtime, command_metadata, runtime

router = APIRouter(prefix="/v1", tags=["referrals"])
Shown = Literal["pending", "accepted", "declined", "all"]


@router.get("/referrals/incoming")
async def incoming_referrals(
    state: Shown = Query("pending", alias="status", description="pending (default), accepted, declined or all"),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Referrals partner agencies made to the caller's agency, with only the consented categories
    and the Part 2 redisclosure notice. A referral whose consent was revoked or expired is gone."""
    statuses = ["pending", "accepted", "declined"] if state == "all" else [state]
    found = await rows.incoming(rt.pool, caller.agency_id, statuses)
    await records.log_access(rt.pool, None, caller.agency_id, caller.sub, f"list incoming referrals ({len(found)})")
    return {"referrals": found}


@router.get("/referrals/incoming/{referral_id}")
async def incoming_referral(referral_id: UUID, caller: Principal = Depends(staff),
                            rt: Runtime = Depends(runtime)) -> Json:
    found = await rows.incoming(rt.pool, caller.agency_id, ["pending", "accepted", "declined"], referral_id)
    if not found:
        raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
    await records.log_access(rt.pool, None, caller.agency_id, caller.sub, f"read incoming referral {referral_id}")
    return found[0]


@router.post("/referrals/incoming/{referral_id}/accept", status_code=status.HTTP_201_CREATED)
async def accept_referral(referral_id: UUID, body: AcceptReferral, request: Request,
                          caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)) -> Json:
    """Enrol the referred person in the caller's agency (linked to the referral and its consent)."""
    async with rt.uow(command_metadata(request, caller)) as uow:
        participant_id = await referral_inbox.accept(referral_id, body, uow, caller.agency_id, now())
    return {"referral_id": str(referral_id), "status": "accepted", "participant_id": str(participant_id)}


@router.post("/referrals/incoming/{referral_id}/decline")
async def decline_referral(referral_id: UUID, body: DeclineReferral, request: Request,
                           caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)) -> Json:
    async with rt.uow(command_metadata(request, caller)) as uow:
        await referral_inbox.decline(referral_id, body, uow, caller.agency_id, now())
    return {"referral_id": str(referral_id), "status": "declined", "reason": body.reason.value}


@router.get("/referrals/outgoing")
async def outgoing_referrals_of_the_agency(
    state: Literal["pending", "accepted", "declined", "withdrawn", "all"] = Query("all", alias="status"),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Every referral the caller's agency made, newest first, with its outcome."""
    found = await rows.outgoing(rt.pool, caller.agency_id, None, None if state == "all" else [state])
    await records.log_listing(rt.pool, list(dict.fromkeys(UUID(r["participant_id"]) for r in found)),
                              caller.agency_id, caller.sub, "list outgoing referrals")
    return {"referrals": found}


@router.get("/participants/{participant_id}/referrals")
async def outgoing_referrals(participant_id: UUID, caller: Principal = Depends(staff),
                             rt: Runtime = Depends(runtime)) -> Json:
    """The referrals made for this participant by the caller's agency, with their outcome."""
    await records.require_participant(rt.pool, participant_id, caller.agency_id)  # type: ignore[arg-type]
    found = await rows.outgoing(rt.pool, caller.agency_id, participant_id)
    await records.log_access(rt.pool, participant_id, caller.agency_id, caller.sub, "list referrals")
    return {"referrals": found}
