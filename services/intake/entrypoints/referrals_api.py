"""Routes of the referral inbox: the receiving agency lists, accepts and declines referrals made
to it; the referring agency sees each referral's outcome."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from services.intake.adapters import records
from services.intake.adapters import referral_records as rows
from services.intake.application import referral_inbox
from services.intake.application.participants import order
from services.intake.domain.referral_inbox import (
    NOT_FOUND_MESSAGE,
    AcceptIncomingReferral,
    AcceptReferral,
    DeclineIncomingReferral,
    DeclineReferral,
)
from services.intake.entrypoints.common import Json
from shared.access_audit import AccessAudit, auditor
from shared.auth import Principal
from shared.domain import NotFound
from shared.minimum_necessary import record_staff
from shared.roles import staff
from shared.runtime import Runtime, runtime
from shared.tenancy import system_scope

router = APIRouter(prefix="/v1", tags=["referrals"])

# Row-level security: a referral crosses agencies by design. The receiving agency's routes below
# read what the referring agency disclosed under the consent (the consent's standing, the source
# material, the referring participant's stream for the outcome), so they run in the explicit
# system scope; every query in them names the agency it serves (recipient_agency_id = caller's).
Shown = Literal["pending", "accepted", "declined", "all"]


@router.get("/referrals/incoming")
async def incoming_referrals(
    state: Shown = Query("pending", alias="status", description="pending (default), accepted, declined or all"),
    caller: Principal = Depends(staff),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Referrals partner agencies made to the caller's agency, with only the consented categories
    and the Part 2 redisclosure notice. A referral whose consent was revoked or expired is gone."""
    statuses: list[str] = ["pending", "accepted", "declined"] if state == "all" else [state]
    with system_scope():
        found = await rows.incoming(rt.pool, caller.agency_id, statuses)
        await audit(f"list incoming referrals ({len(found)})", None)
    return {"referrals": found}


@router.get("/referrals/incoming/{referral_id}")
async def incoming_referral(referral_id: UUID, caller: Principal = Depends(staff),
                            audit: AccessAudit = Depends(auditor),
                            rt: Runtime = Depends(runtime)) -> Json:
    with system_scope():
        found = await rows.incoming(rt.pool, caller.agency_id, ["pending", "accepted", "declined"], referral_id)
        if not found:
            raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
        await audit(f"read incoming referral {referral_id}", None)
    return found[0]


@router.post("/referrals/incoming/{referral_id}/accept", status_code=status.HTTP_201_CREATED)
async def accept_referral(referral_id: UUID, body: AcceptReferral, request: Request,
                          caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)) -> Json:
    """Enrol the referred person in the caller's agency (linked to the referral and its consent)."""
    cmd = order(AcceptIncomingReferral, body, referral_id=referral_id)
    with system_scope():
        participant_id = await rt.run(referral_inbox.accept, cmd, request, caller)
    return {"referral_id": str(referral_id), "status": "accepted", "participant_id": str(participant_id)}


@router.post("/referrals/incoming/{referral_id}/decline")
async def decline_referral(referral_id: UUID, body: DeclineReferral, request: Request,
                           caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)) -> Json:
    with system_scope():
        await rt.run(referral_inbox.decline, order(DeclineIncomingReferral, body, referral_id=referral_id),
                     request, caller)
    return {"referral_id": str(referral_id), "status": "declined", "reason": body.reason.value}


@router.get("/referrals/outgoing")
async def outgoing_referrals_of_the_agency(
    state: Literal["pending", "accepted", "declined", "withdrawn", "all"] = Query("all", alias="status"),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Every referral the caller's agency made, newest first, with its outcome."""
    found = await rows.outgoing(rt.pool, caller.agency_id, None, None if state == "all" else [state])
    await AccessAudit(rt.pool, caller)("list outgoing referrals",
                                       *dict.fromkeys(UUID(r["participant_id"]) for r in found))
    return {"referrals": found}


@router.get("/participants/{participant_id}/referrals")
async def outgoing_referrals(participant_id: UUID, caller: Principal = Depends(record_staff),
                             audit: AccessAudit = Depends(auditor),
                             rt: Runtime = Depends(runtime)) -> Json:
    """The referrals made for this participant by the caller's agency, with their outcome."""
    await records.require_participant(rt.pool, participant_id, caller.agency_id)  # type: ignore[arg-type]
    found = await rows.outgoing(rt.pool, caller.agency_id, participant_id)
    await audit("list referrals", participant_id)
    return {"referrals": found}
