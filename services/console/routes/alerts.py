"""The alerts inbox, acknowledging, and the live strip of urgent alerts every staff page polls."""

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


@router.get("/alerts")
async def inbox(request: Request, _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    got = await client.get("notifications", "/v1/notifications", limit=200)
    items = got["notifications"]
    waiting = [n for n in items if n["alert_id"] and not n["acknowledged_at"]]
    waiting.sort(key=lambda n: (not n["urgent"], n["created_at"]))  # urgent first, oldest first
    rest = [n for n in items if n not in waiting]
    return render(request, "alerts.html", waiting=waiting, rest=rest, title="Alerts")


@router.get("/alerts/live")
async def live(request: Request, _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    """The urgent alerts still waiting, as a fragment (htmx polls it from every staff page)."""
    got = await client.get("notifications", "/v1/notifications", unacknowledged="true", limit=50)
    urgent = [n for n in got["notifications"] if n["urgent"]]
    return render(request, "partials/live_alerts.html", urgent=urgent)


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: UUID, _: Session = Depends(role(*STAFF)),
                      client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    try:
        await client.post("notifications", f"/v1/alerts/{alert_id}/acknowledge")
    except Invalid as problem:  # e.g. already acknowledged by someone else
        return render(request, "error.html", problem.status, title="Not acknowledged", message=problem.detail)
    to = str(form.get("next") or "/alerts")
    return redirect(to if to.startswith("/") and not to.startswith("//") else "/alerts")
