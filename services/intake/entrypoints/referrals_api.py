"""Routes of the referral inbox: the receiving agency lists, accepts and declines referrals made
to it; the referring agency sees each referral's outcome."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

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
from shared.paging import Page, page
from shared.routes import StaffCall, StaffRecordCall
from shared.tenancy import system_scope

router = APIRouter(prefix="/v1", tags=["referrals"])

# Row-level security: a referral crosses agencies by design. The receiving agency's routes below
# read what the referring agency disclosed under the consent (the consent's standing, the source
# material, the referring participant's stream for the outcome), so they run in the explicit
# system scope; every query in them names the agency it serves (recipient_agency_id = caller's).
Shown = Literal["pending", "accepted", "declined", "all"]


async def _shown(call: StaffCall, action: str, statuses: list[str], referral_id: UUID | None = None,
                 shown: Page | None = None) -> list[dict[str, Any]]:
    """The receiving agency's referrals, and in the same transaction the disclosure: this is the
    moment the referring agency's records reach the recipient, so the referring agency's ledger
    line is written now (once per referral) along with the access-log row."""
    with system_scope():
        async with call.pool.acquire() as conn, conn.transaction():
            found = await rows.incoming(conn, call.agency_id, statuses, call.keys, referral_id,
                                        limit=shown.fetch if shown else None, offset=shown.offset if shown else 0)
            visible = found[: shown.limit] if shown else found
            await rows.record_disclosures(conn, [UUID(r["referral_id"]) for r in visible], call.now())
            if visible or referral_id is None:
                await call.audit(action.format(n=len(visible)), None, conn=conn)
    return found


@router.get("/referrals/incoming")
async def incoming_referrals(
    call: StaffCall,
    state: Shown = Query("pending", alias="status", description="pending (default), accepted, declined or all"),
    shown: Page = Depends(page),
) -> Json:
    """Referrals partner agencies made to the caller's agency, oldest first and paged, with only
    the consented categories and the Part 2 redisclosure notice. A referral whose consent was
    revoked or expired is gone. Being shown a referral is its disclosure: the referring agency's
    ledger records it now (see docs/security.md)."""
    statuses: list[str] = ["pending", "accepted", "declined"] if state == "all" else [state]
    listed, next_offset = shown.cut(await _shown(call, "list incoming referrals ({n})", statuses, shown=shown))
    return {"referrals": listed, "next_offset": next_offset}


@router.get("/referrals/incoming/{referral_id}")
async def incoming_referral(referral_id: UUID, call: StaffCall) -> Json:
    found = await _shown(call, f"read incoming referral {referral_id}", ["pending", "accepted", "declined"],
                         referral_id)
    if not found:
        raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
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
    paged: Page = Depends(page),
) -> Json:
    """Every referral the caller's agency made, newest first and paged, with its outcome."""
    found, next_offset = paged.cut(await rows.outgoing(
        call.pool, call.agency_id, call.keys, None, None if state == "all" else [state], limit=paged.fetch,
        offset=paged.offset))
    await call.audit("list outgoing referrals", *dict.fromkeys(UUID(r["participant_id"]) for r in found))
    return {"referrals": found, "next_offset": next_offset}


@router.get("/participants/{participant_id}/referrals")
async def outgoing_referrals(participant_id: UUID, call: StaffRecordCall, paged: Page = Depends(page)) -> Json:
    """The referrals made for this participant by the caller's agency, newest first and paged,
    with their outcome."""
    await records.require_participant(call.pool, participant_id, call.agency_id)  # type: ignore[arg-type]
    found = rows.outgoing(call.pool, call.agency_id, call.keys, participant_id, limit=paged.fetch,
                          offset=paged.offset)
    return await call.listed("referrals", "list referrals", participant_id, paged, found)
