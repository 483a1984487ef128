"""42 CFR Part 2 consents (record signed, sign a draft, revoke), referrals and the disclosure ledger."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, listed, redirect, render, role
from shared.catalogue.intake import DisclosurePurpose, InformationCategory, RecipientKind

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
INFORMATION = tuple(c.value for c in InformationCategory)
PURPOSES = tuple(p.value for p in DisclosurePurpose)
#: the general designation covers these purposes only (42 CFR 2.31(a)(4)(ii))
TPO_PURPOSES = ("treatment", "payment", "health_care_operations")
RECIPIENT_KINDS = tuple(k.value for k in RecipientKind)


async def _page(request: Request, client: Api, pid: str, status: int = 200, **extra: Any) -> Response:
    down: list[str] = []
    got = await gather(down, consents=client.all_pages("intake", f"/v1/participants/{pid}/consents", "consents"),
                       disclosures=client.all_pages("intake", f"/v1/participants/{pid}/disclosures", "disclosures"),
                       person=client.get("intake", f"/v1/participants/{pid}"))
    context = {"values": {}, "problem": None, "form_name": "", **extra}
    return render(request, "consents.html", status, pid=pid, down=down, information=INFORMATION, purposes=PURPOSES,
                  tpo_purposes=TPO_PURPOSES, recipient_kinds=RECIPIENT_KINDS, person=got["person"],
                  consents=(got["consents"] or {}).get("consents"), today=date.today().isoformat(),
                  disclosures=(got["disclosures"] or {}).get("disclosures"), title="Consents and referrals", **context)


def _signature(form: dict[str, Any]) -> dict[str, Any]:
    return {"signed_by": str(form.get("signed_by", "")).strip(), "method": form.get("method") or "electronic",
            "signed_on": form.get("signed_on") or None}


def consent_body(form: dict[str, Any], *, signed: bool = True) -> dict[str, Any]:
    """Intake's consent body from the form: every Part 2 element, the signature unless a draft."""
    kind = str(form.get("recipient_kind") or "named_agency")
    agencies = [a.strip() for a in str(form.get("agency_ids", "")).split(",") if a.strip()]
    expiry: dict[str, Any] = {"on": form.get("expires_on") or None}
    if form.get("until_discharge"):
        expiry["event"] = "discharge"
    body: dict[str, Any] = {
        "disclosing_agency_id": form.get("disclosing_agency_id", ""),
        "information": listed(form.get("information")), "purposes": listed(form.get("purposes")),
        "information_description": str(form.get("information_description", "")).strip() or None,
        "recipients": {"kind": kind, "agency_ids": agencies if kind == "named_agency" else []},
        "right_to_revoke_acknowledged": bool(form.get("right_to_revoke")), "expiry": expiry,
    }
    if signed:
        body["signature"] = _signature(form)
    return body


@router.get("/participants/{participant_id}/consents")
async def consents(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                   client: Api = Depends(api)) -> Response:
    return await _page(request, client, str(participant_id))


@router.post("/participants/{participant_id}/consents")
async def record(request: Request, participant_id: UUID, session: Session = Depends(role(*STAFF)),
                 client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    draft = bool(form.get("draft"))  # "Save as a draft to sign later": no signature yet, discloses nothing
    body = consent_body({**form, "disclosing_agency_id": session.agency_id}, signed=not draft)
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/{'consent-drafts' if draft else 'consents'}",
                          body)
    except Invalid as problem:
        return await _page(request, client, str(participant_id), 422, values=form, problem=problem, form_name="consent")
    return redirect(f"/participants/{participant_id}/consents")


@router.post("/participants/{participant_id}/consents/{consent_id}/{action}")
async def change(request: Request, participant_id: UUID, consent_id: UUID, action: str,
                 _: Session = Depends(role(*STAFF)), client: Api = Depends(api),
                 form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    """``signature`` signs a draft; ``revocation`` records the participant's revocation."""
    if action not in ("signature", "revocation"):
        return redirect(f"/participants/{participant_id}/consents")
    body = {"signature": _signature(form)} if action == "signature" else None
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/consents/{consent_id}/{action}", body)
    except Invalid as problem:
        return await _page(request, client, str(participant_id), 422, problem=problem, form_name=str(consent_id))
    return redirect(f"/participants/{participant_id}/consents")


@router.post("/participants/{participant_id}/referrals")
async def refer(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {"recipient_agency_id": str(form.get("recipient_agency_id", "")).strip(), "purpose": form.get("purpose"),
            "information": listed(form.get("information")), "note": str(form.get("note", "")).strip() or None}
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/referrals", body)
    except Invalid as problem:
        return await _page(request, client, str(participant_id), 422, values=form, problem=problem,
                           form_name="referral")
    return redirect(f"/participants/{participant_id}/consents#ledger-h")
