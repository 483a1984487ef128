"""Routes of the referral inbox: the receiving agency lists, accepts and declines referrals made
to it; the referring agency sees each referral's outcome."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

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
from shared.domain import NotFound
from shared.routes import StaffCall
from shared.tenancy import system_scope

router = APIRouter(prefix="/v1", tags=["referrals"])

# Row-level security: a referral crosses agencies by design. The receiving agency's routes below
# read what the referring agency disclosed under the consent (the consent's standing, the source
# material, the referring participant's stream for the outcome), so they run in the explicit
# system scope; every query in them names the agency it serves (recipient_agency_id = caller's).
Shown = Literal["pending", "accepted", "declined", "all"]


@router.get("/referrals/incoming")
async def incoming_referrals(
    call: StaffCall,
    state: Shown = Query("pending", alias="status", description="pending (default), accepted, declined or all"),
) -> Json:
    """Referrals partner agencies made to the caller's agency, with only the consented categories
    and the Part 2 redisclosure notice. A referral whose consent was revoked or expired is gone."""
    statuses: list[str] = ["pending", "accepted", "declined"] if state == "all" else [state]
    with system_scope():
        found = await rows.incoming(call.pool, call.agency_id, statuses)
        await call.audit(f"list incoming referrals ({len(found)})", None)
    return {"referrals": found}


@router.get("/referrals/incoming/{referral_id}")
async def incoming_referral(referral_id: UUID, call: StaffCall) -> Json:
    with system_scope():
        found = await rows.incoming(call.pool, call.agency_id, ["pending", "accepted", "declined"], referral_id)
        if not found:
            raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
        await call.audit(f"read incoming referral {referral_id}", None)
    return found[0]


@router.post("/referrals/incoming/{referral_id}/accept", status_code=status.HTTP_201_CREATED)
async def accept_referral(referral_id: UUID, body: AcceptReferral, call: StaffCall) -> Json:
    """Enrol the referred person in the caller's agency (linked to the referral and its consent)."""
    cmd = order(AcceptIncomingReferral, body, referral_id=referral_id)
    with system_scope():
        participant_id = await call.run(referral_inbox.accept, cmd)
    return {"referral_id": str(referral_id), "status": "accepted", "participant_id": str(participant_id)}


@router.post("/referrals/incoming/{referral_id}/decline")
async def decline_referral(referral_id: UUID, body: DeclineReferral, call: StaffCall) -> Json:
    with system_scope():
        await call.run(referral_inbox.decline, order(DeclineIncomingReferral, body, referral_id=referral_id))
    return {"referral_id": str(referral_id), "status": "declined", "reason": body.reason.value}


@router.get("/referrals/outgoing")
async def outgoing_referrals_of_the_agency(
    call: StaffCall,
    state: Literal["pending", "accepted", "declined", "withdrawn", "all"] = Query("all", alias="status"),
) -> Json:
    """Every referral the caller's agency made, newest first, with its outcome."""
    found = await rows.outgoing(call.pool, call.agency_id, None, None if state == "all" else [state])
    await call.audit("list outgoing referrals", *dict.fromkeys(UUID(r["participant_id"]) for r in found))
    return {"referrals": found}


@router.get("/participants/{participant_id}/referrals")
async def outgoing_referrals(participant_id: UUID, call: StaffCall) -> Json:
    """The referrals made for this participant by the caller's agency, with their outcome."""
    await records.require_participant(call.pool, participant_id, call.agency_id)  # type: ignore[arg-type]
    return {"referrals": await call.shown("list referrals", participant_id,
                                          rows.outgoing(call.pool, call.agency_id, participant_id))}
