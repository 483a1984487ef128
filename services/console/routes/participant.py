"""The participant page: who, risk and why, what changed, the chart, the plan, then the forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console import chart
from services.console.clients import Api, NotVisible
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
CHART_SPAN, CHART_POINTS = timedelta(days=30), 300
SERVICES = ("intake", "planning", "monitoring", "notifications")


async def open_alerts(client: Api, participant_id: str) -> list[dict[str, Any]]:
    """This person's routine alerts still waiting (urgent ones are in the live strip of every page)."""
    inbox = await client.get("notifications", "/v1/notifications", unacknowledged="true", limit=200)
    return [n for n in inbox["notifications"] if n["participant_id"] == participant_id and not n["urgent"]]


def _title(person: dict[str, Any], pid: str) -> str:
    if person.get("erased"):
        return "Erased participant"
    return str(person.get("display_name") or pid)


@router.get("/participants/{participant_id}")
async def participant_page(request: Request, participant_id: UUID, session: Session = Depends(role(*STAFF)),
                           client: Api = Depends(api)) -> Response:
    pid = str(participant_id)
    down: list[str] = []
    got = await gather(
        down,
        person=client.get("intake", f"/v1/participants/{pid}"),
        assessments=client.all_pages("intake", f"/v1/participants/{pid}/assessments", "assessments"),
        plan=client.get("planning", f"/v1/participants/{pid}/plan"),
        check_ins=client.get("monitoring", f"/v1/participants/{pid}/check-ins", limit=CHART_POINTS,
                             since=(datetime.now(UTC) - CHART_SPAN).isoformat()),
        risk=client.get("monitoring", f"/v1/participants/{pid}/risk-history", limit=10),
        recovery=client.get("monitoring", f"/v1/participants/{pid}/recovery"),
        timeline=client.get("monitoring", f"/v1/participants/{pid}/timeline/latest", limit=15),
        schedule=client.get("monitoring", f"/v1/participants/{pid}/check-in-schedule"),
        alerts=open_alerts(client, pid),
    )
    if got["person"] is None and "intake" not in down:
        raise NotVisible(404)
    check_ins = (got["check_ins"] or {}).get("check_ins")  # oldest first
    return render(
        request, "participant.html", pid=pid, down=down, title=_title(got["person"] or {}, pid),
        person=got["person"] or {}, assessments=list(reversed((got["assessments"] or {}).get("assessments", []))),
        plan=got["plan"], recovery=got["recovery"], schedule=got["schedule"], alerts=got["alerts"] or [],
        risk_changes=(got["risk"] or {}).get("changes"), chart_capped=bool((got["check_ins"] or {}).get("next_after")),
        timeline=(got["timeline"] or {}).get("entries", []), check_ins=check_ins,
        chart_svg=chart.craving_mood(check_ins) if check_ins else None,
    )


@router.get("/participants/{participant_id}/timeline")
async def timeline_page(request: Request, participant_id: UUID, after: str | None = None, service: str = "",
                        _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    """One page of 50 entries, oldest first, of every service or of the one chosen."""
    pid = str(participant_id)
    chosen = service if service in SERVICES else None
    got = await client.get("monitoring", f"/v1/participants/{pid}/timeline", after=after, limit=50, service=chosen)
    entries, cursor = got["entries"], got["next_after"]
    return render(request, "timeline.html", pid=pid, entries=entries, next_after=cursor, service=service,
                  services=SERVICES, after=after, title="Timeline")


@router.get("/participants/{participant_id}/notes")
async def private_notes(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                        client: Api = Depends(api)) -> Response:
    """The free text kept out of events; reading it is recorded in the access log by monitoring."""
    got = await client.get("monitoring", f"/v1/participants/{participant_id}/private-notes")
    return render(request, "notes.html", pid=str(participant_id), texts=got["texts"], title="Private notes")
