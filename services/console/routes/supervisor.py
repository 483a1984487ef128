"""The supervisor's agency overview (charts), any specialist's caseload, and the assignment queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console import chart
from services.console.clients import Api, Invalid
from services.console.format import risk_label
from services.console.parts import gather
from services.console.routes.glass import flagged_accesses, grouped
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
MANAGERS = ("supervisor", "agency_admin")
STAFF = ("specialist", "supervisor", "agency_admin")


@router.get("/overview")
async def overview(request: Request, _: Session = Depends(role(*MANAGERS)), client: Api = Depends(api)) -> Response:
    down: list[str] = []
    got = await gather(down, overview=client.get("monitoring", "/v1/overview"),
                       queue=client.all_pages("intake", "/v1/assignment-queue", "waiting"),
                       alerts=client.get("notifications", "/v1/notifications", unacknowledged="true", limit=100),
                       agency_alerts=client.get("notifications", "/v1/alerts", urgency="urgent", limit=50),
                       flagged=flagged_accesses(client, down, datetime.now(UTC) - timedelta(days=7)))
    o = got["overview"]
    charts = {}
    if o:
        charts["risk"] = chart.bars("People by risk level", [(risk_label(k), v) for k, v in
                                                            o["participants_by_risk"].items()])
        charts["today"] = chart.bars("Today", [(k.replace("_", " "), v) for k, v in o["today"].items()])
        charts["week"] = chart.bars("This week", [(k.replace("_", " "), v) for k, v in o["this_week"].items()])
    alerts = (got["alerts"] or {}).get("notifications", [])
    unanswered = (got["agency_alerts"] or {}).get("alerts")  # oldest waiting first: the most overdue on top
    return render(request, "overview.html", o=o, charts=charts, queue=(got["queue"] or {}).get("waiting"),
                  unanswered=sorted(unanswered, key=lambda a: a["raised_at"]) if unanswered is not None else None,
                  alerts=sorted(alerts, key=lambda a: (not a["urgent"], a["created_at"])), down=down,
                  flagged=None if got["flagged"] is None else grouped(got["flagged"]),
                  title="Agency overview")


@router.get("/queue")
async def queue(request: Request, _: Session = Depends(role(*MANAGERS)), client: Api = Depends(api)) -> Response:
    got = await client.all_pages("intake", "/v1/assignment-queue", "waiting")
    return render(request, "queue.html", waiting=got["waiting"], problem=None, title="Assignment queue")


@router.post("/participants/{participant_id}/specialist")
async def assign(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                 client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    """Assign someone waiting, or transfer someone to another specialist."""
    try:
        await client.send("intake", "PUT", f"/v1/participants/{participant_id}/specialist",
                          {"specialist_id": str(form.get("specialist_id", "")).strip()})
    except Invalid as problem:
        got = await client.all_pages("intake", "/v1/assignment-queue", "waiting")
        return render(request, "queue.html", 422, waiting=got["waiting"], problem=problem, failed=str(participant_id),
                      title="Assignment queue")
    to = str(form.get("next") or "/queue")
    return redirect(to if to.startswith("/") and not to.startswith("//") else "/queue")
