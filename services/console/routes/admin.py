"""Agency admin: agency staff (the top of the escalation ladder), webhooks, a participant's access log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role, to_participant

router = APIRouter()
ADMIN = ("agency_admin",)
AUDITORS = ("supervisor", "agency_admin")


async def _page(request: Request, client: Api, status: int = 200, **extra: Any) -> Response:
    down: list[str] = []
    got = await gather(down, subs=client.get("notifications", "/v1/webhook-subscriptions"),
                       staff=client.get("notifications", "/v1/agency-staff"))
    return render(request, "admin.html", status, subscriptions=(got["subs"] or {}).get("subscriptions"), down=down,
                  staff=got["staff"] or {},
                  title="Agency admin", **{"values": {}, "problem": None, "created": None, "saved": "", **extra})


@router.get("/admin")
async def admin(request: Request, saved: str = "", _: Session = Depends(role(*ADMIN)),
                client: Api = Depends(api)) -> Response:
    return await _page(request, client, saved=saved)


@router.post("/admin/webhooks")
async def create_webhook(request: Request, _: Session = Depends(role(*ADMIN)), client: Api = Depends(api),
                         form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    types = [t.strip() for t in str(form.get("event_types", "")).replace("\n", ",").split(",") if t.strip()]
    body = {"url": str(form.get("url", "")).strip(), "event_types": types,
            "description": str(form.get("description", "")).strip() or None}
    try:
        created = await client.post("notifications", "/v1/webhook-subscriptions", body)
    except Invalid as problem:
        return await _page(request, client, 422, values=form, problem=problem)
    return await _page(request, client, 201, created=created)


@router.post("/admin/webhooks/{subscription_id}/deactivate")
async def deactivate(request: Request, subscription_id: UUID, _: Session = Depends(role(*ADMIN)),
                     client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    await client.send("notifications", "DELETE", f"/v1/webhook-subscriptions/{subscription_id}")
    return redirect("/admin?saved=deactivated")


@router.post("/admin/staff")
async def agency_staff(request: Request, _: Session = Depends(role(*ADMIN)), client: Api = Depends(api),
                       form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {k: str(form[k]).strip() for k in ("supervisor_id", "agency_admin_id") if str(form.get(k, "")).strip()}
    try:
        await client.send("notifications", "PUT", "/v1/agency-staff", body)
    except Invalid as problem:
        return await _page(request, client, 422, values=form, problem=problem)
    return redirect("/admin?saved=staff")


@router.get("/access-log")
async def access_log_lookup(participant_id: str = "", _: Session = Depends(role(*AUDITORS))) -> Response:
    return to_participant(participant_id, "access-log", "/admin")


@router.get("/participants/{participant_id}/access-log")
async def access_log(request: Request, participant_id: UUID, _: Session = Depends(role(*AUDITORS)),
                     client: Api = Depends(api)) -> Response:
    """Who read this participant's data, in every service, newest first."""
    pid, down = str(participant_id), list[str]()
    got = await gather(down, **{s: client.get(s, f"/v1/participants/{pid}/access-log")
                                for s in ("intake", "planning", "monitoring")})
    rows = [{**e, "service": s} for s, body in got.items() if body for e in body.get("access_log", [])]
    rows.sort(key=lambda e: str(e.get("at") or ""), reverse=True)
    return render(request, "access_log.html", pid=pid, rows=rows, down=down, title="Access log")
