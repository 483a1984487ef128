"""Referrals from partner agencies: the receiving agency's inbox, with accept and decline.

Only what the person consented to disclose is shown (intake filters it), with the Part 2
redisclosure notice beside it; a referral whose consent was revoked is gone from the list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
DECLINE_REASONS = {
    "no_capacity": "No capacity", "not_eligible": "Not eligible", "service_not_offered": "Service not offered",
    "person_declined": "The person declined", "unable_to_reach": "Unable to reach them", "other": "Other",
}


async def _page(request: Request, client: Api, status: int = 200, **context: object) -> Response:
    pending = (await client.all_pages("intake", "/v1/referrals/incoming", "referrals"))["referrals"]
    every = (await client.all_pages("intake", "/v1/referrals/incoming", "referrals", status="all"))["referrals"]
    decided = [r for r in every if r["status"] != "pending"]
    return render(request, "referrals.html", status, pending=pending, decided=decided, reasons=DECLINE_REASONS,
                  title="Incoming referrals", **context)


@router.get("/referrals")
async def incoming(request: Request, _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    return await _page(request, client)


@router.post("/referrals/{referral_id}/accept")
async def accept(request: Request, referral_id: UUID, _: Session = Depends(role(*STAFF)),
                 client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {k: str(form.get(k, "")).strip() for k in ("specialist_id", "display_name")}
    try:
        done = await client.post("intake", f"/v1/referrals/incoming/{referral_id}/accept",
                                 {k: v for k, v in body.items() if v})
    except Invalid as problem:
        return await _page(request, client, 422, problem=problem, failed=str(referral_id), values=body)
    return redirect(f"/participants/{done['participant_id']}")


@router.post("/referrals/{referral_id}/decline")
async def decline(request: Request, referral_id: UUID, _: Session = Depends(role(*STAFF)),
                  client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {"reason": str(form.get("reason", "")), "note": str(form.get("note", "")).strip() or None}
    try:
        await client.post("intake", f"/v1/referrals/incoming/{referral_id}/decline",
                          {k: v for k, v in body.items() if v})
    except Invalid as problem:
        return await _page(request, client, 422, problem=problem, failed=str(referral_id), values=body)
    return redirect("/referrals")
