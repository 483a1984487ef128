"""The specialist's caseload (ranked by need, with reasons) and enrolment of a new participant."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
LIMIT = 1000  # the most monitoring ranks in one call
FIRST = 200  # shown at first: the people who need attention most (all of them on request)
LOOKUP = 250  # participant ids in one name lookup (a URL of about 13 kB)


async def caseload_rows(client: Api, down: list[str], specialist_id: str | None,
                        limit: int = LIMIT) -> list[dict[str, Any]]:
    """Monitoring's ranking joined with intake's names; people monitoring has not heard of yet go last.

    A full ranking (``limit`` people) needs the names of those people only: they are looked up by id,
    a few requests at once. A shorter one may leave out people monitoring has not heard of yet, so
    then the whole (small) list comes from intake."""
    got = await gather(down, ranked=client.get("monitoring", "/v1/caseload", specialist_id=specialist_id,
                                                  limit=limit,
                                                  whole_agency="true" if specialist_id is None else None))
    ranked: list[dict[str, Any]] = (got["ranked"] or {}).get("participants", [])
    full = len(ranked) >= limit
    if full:
        named = await gather(down, people=names_of(client, [r["participant_id"] for r in ranked]))
    else:
        named = await gather(down, people=client.all_pages("intake", "/v1/participants", "participants",
                                                           specialist_id=specialist_id, status="active"))
    people = {p["participant_id"]: p for p in (named["people"] or {}).get("participants", [])}
    rows = []
    for r in ranked:
        person = people.pop(r["participant_id"], {})
        rows.append({**r, "display_name": display_name(person), "known": True})
    if full:  # the rest are ranked below these, not "just enrolled"
        return rows
    for p in people.values():
        rows.append({**p, "display_name": display_name(p), "reasons": [],
                     "known": False, "open_alerts": 0, "last_check_in_at": None})
    return rows


def display_name(person: dict[str, Any]) -> str:
    if person.get("erased"):  # the name cannot be read any more: say so, with a short id to tell people apart
        return f"Erased participant {str(person.get('participant_id', ''))[:8]}".strip()
    return str(person.get("display_name") or "(no name given)")


async def names_of(client: Api, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Intake's entries for these participants, ``LOOKUP`` ids a request, the
    requests at the same time."""
    chunks = [ids[i:i + LOOKUP] for i in range(0, len(ids), LOOKUP)]
    pages = await asyncio.gather(*(client.get("intake", "/v1/participants", participant_id=chunk, limit=len(chunk))
                                   for chunk in chunks))
    return {"participants": [p for page in pages for p in page["participants"]]}


@router.get("/caseload")
async def caseload(request: Request, specialist: str | None = None, show: str = "",
                   session: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    whose = specialist or (session.sub if session.has_any("specialist") else None)
    down: list[str] = []
    limit = LIMIT if show == "all" else FIRST
    rows = await caseload_rows(client, down, whose, limit)
    return render(request, "caseload.html", rows=rows, whose=whose, down=down, title="Caseload",
                  capped=len(rows) >= limit, show_all=limit == FIRST and len(rows) >= limit)


@router.get("/participants/new")
async def new_participant(request: Request, _: Session = Depends(role(*STAFF))) -> Response:
    return render(request, "enrol.html", values={}, problem=None, title="Enrol a participant")


@router.post("/participants/new")
async def enrol(request: Request, session: Session = Depends(role(*STAFF)), client: Api = Depends(api),
                form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body: dict[str, Any] = {"display_name": form.get("display_name") or None,
                            "specialist_id": form.get("specialist_id") or None}
    for key in ("recovery_start_date", "time_zone", "preferred_channel"):
        if form.get(key):
            body[key] = form[key]
    contact = {k: form[k] for k in ("phone", "email") if form.get(k)}
    if contact:
        body["contact"] = contact
    try:
        made = await client.post("intake", "/v1/participants", body)
    except Invalid as problem:
        return render(request, "enrol.html", 422, values=form, problem=problem, title="Enrol a participant")
    return redirect(f"/participants/{made['participant_id']}")
