"""Erasure (agency admins): a participant's names, contact details and free text destroyed in every
service by crypto-shredding (intake's ``POST /v1/participants/{id}/erasure``). A page that says
plainly what erasure does and what it cannot undo, a reason, a confirmation, then the request."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid, NotVisible
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role, to_participant

router = APIRouter()
ADMIN = ("agency_admin",)
MAX_REASON = 500


async def _person(client: Api, pid: str) -> dict[str, Any]:
    """The participant as the agency's list shows them (name, status, erased): enough to confirm
    who is erased, without opening their record."""
    found = await client.get("intake", "/v1/participants", participant_id=[pid], limit=1)
    if not found["participants"]:
        raise NotVisible(404)
    person: dict[str, Any] = found["participants"][0]
    return person


def _page(request: Request, pid: str, person: dict[str, Any], status_code: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {"values": {}, "errors": {}, "problem": None, "done": False, **extra}
    return render(request, "erasure.html", status_code, pid=pid, person=person, max_reason=MAX_REASON,
                  title="Erase a participant", **context)


@router.get("/erasure")
async def lookup(participant_id: str = "", _: Session = Depends(role(*ADMIN))) -> Response:
    return to_participant(participant_id, "erasure", "/admin")


@router.get("/participants/{participant_id}/erasure")
async def confirm_page(request: Request, participant_id: UUID, done: bool = False,
                       _: Session = Depends(role(*ADMIN)), client: Api = Depends(api)) -> Response:
    pid = str(participant_id)
    return _page(request, pid, await _person(client, pid), done=done)


@router.post("/participants/{participant_id}/erasure")
async def erase(request: Request, participant_id: UUID, _: Session = Depends(role(*ADMIN)),
                client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    pid = str(participant_id)
    reason = " ".join(str(form.get("reason", "")).split())
    errors = {}
    if not reason:
        errors["reason"] = "Say why this participant is erased (kept in intake's record of the erasure)."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason to {MAX_REASON} characters (this is {len(reason)})."
    if not form.get("understood"):
        errors["understood"] = "Confirm that you understand the erasure cannot be undone."
    if errors:
        return _page(request, pid, await _person(client, pid), 422, values=form, errors=errors)
    try:
        await client.post("intake", f"/v1/participants/{pid}/erasure", {"reason": reason})
    except Invalid as problem:
        return _page(request, pid, await _person(client, pid), 422, values=form, problem=problem,
                     errors={"reason": problem.for_field("reason") or ""})
    return redirect(f"/participants/{pid}/erasure?done=true")
