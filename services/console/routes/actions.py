"""What a specialist records for a participant: a check-in on their behalf, a contact, a discharge."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.checkin_form import check_in_body, plan_choices
from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
CHANNELS = ("phone", "sms", "video", "in_person", "email", "app", "other")
OUTCOMES = ("reached", "no_answer", "left_message", "declined")
REASONS = ("plan_completed", "transferred_out", "moved_away", "declined_support", "lost_contact", "deceased", "other")


async def _check_in_page(request: Request, client: Api, pid: str, values: dict[str, Any],
                         problem: Invalid | None) -> Response:
    down: list[str] = []
    got = await gather(down, plan=client.get("planning", f"/v1/participants/{pid}/plan"))
    signs, strategies = plan_choices(got["plan"])
    return render(request, "checkin_staff.html", 422 if problem else 200, pid=pid, values=values, problem=problem,
                  signs=signs, strategies=strategies, down=down, title="Check in for them")


@router.get("/participants/{participant_id}/check-in")
async def check_in_form(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                        client: Api = Depends(api)) -> Response:
    return await _check_in_page(request, client, str(participant_id), {}, None)


@router.post("/participants/{participant_id}/check-in")
async def check_in(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                   client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    try:
        await client.post("monitoring", f"/v1/participants/{participant_id}/check-ins", check_in_body(form))
    except Invalid as problem:
        return await _check_in_page(request, client, str(participant_id), form, problem)
    return redirect(f"/participants/{participant_id}#chart-h")


@router.get("/participants/{participant_id}/contact-log")
async def contact_form(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF))) -> Response:
    return render(request, "contact.html", pid=str(participant_id), values={}, problem=None, channels=CHANNELS,
                  outcomes=OUTCOMES, title="Log a contact")


@router.post("/participants/{participant_id}/contact-log")
async def log_contact(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                      client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {k: form[k] for k in ("channel", "direction", "outcome", "note") if form.get(k)}
    if str(form.get("duration_minutes", "")).strip():
        body["duration_minutes"] = form["duration_minutes"]
    try:
        await client.post("monitoring", f"/v1/participants/{participant_id}/contacts", body)
    except Invalid as problem:
        return render(request, "contact.html", 422, pid=str(participant_id), values=form, problem=problem,
                      channels=CHANNELS, outcomes=OUTCOMES, title="Log a contact")
    return redirect(f"/participants/{participant_id}#timeline-h")


@router.get("/participants/{participant_id}/discharge")
async def discharge_form(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF))) -> Response:
    return render(request, "discharge.html", pid=str(participant_id), reasons=REASONS, problem=None,
                  title="Discharge")


@router.post("/participants/{participant_id}/discharge")
async def discharge(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                    client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/discharge", {"reason": form.get("reason")})
    except Invalid as problem:
        return render(request, "discharge.html", 422, pid=str(participant_id), reasons=REASONS, problem=problem,
                      title="Discharge")
    return redirect(f"/participants/{participant_id}")
