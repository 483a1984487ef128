"""The relapse-prevention plan: view (current, a version, or as of a date), history, and edit.

An edit is sent with ``If-Match: "<version it was based on>"``; when somebody saved first (412),
the page shows their version beside what this user typed, so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
STATUSES = ("draft", "active", "on-hold", "completed", "revoked")
#: the sections edited as one line per item: (section, the item's text field)
LINE_SECTIONS = {"warning_signs": "text", "healthy_alternatives": "activity", "goals": "description"}


@router.get("/participants/{participant_id}/plan")
async def plan_page(request: Request, participant_id: UUID, version: int | None = None, as_of: str | None = None,
                    _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    pid, down = str(participant_id), list[str]()
    instant = f"{as_of}T23:59:59Z" if as_of and len(as_of) == 10 else as_of
    got = await gather(down, plan=client.get("planning", f"/v1/participants/{pid}/plan", version=version,
                                             as_of=instant),
                       history=client.all_pages("planning", f"/v1/participants/{pid}/plan/history", "versions"))
    return render(request, "plan.html", pid=pid, plan=got["plan"], history=(got["history"] or {}).get("versions", []),
                  version=version, as_of=as_of or "", down=down, title="Plan")


@router.get("/participants/{participant_id}/plan/edit")
async def edit_page(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                    client: Api = Depends(api)) -> Response:
    plan = await client.get("planning", f"/v1/participants/{participant_id}/plan")
    return render(request, "plan_edit.html", pid=str(participant_id), plan=plan, values=_lines(plan), problem=None,
                  conflict=None, statuses=STATUSES, title="Edit the plan")


def _lines(plan: dict[str, Any]) -> dict[str, str]:
    out = {s: "\n".join(item[field] for item in plan["sections"].get(s, [])) for s, field in LINE_SECTIONS.items()}
    return {**out, "status": plan["status"], "version": str(plan["version"])}


def _section(old: list[dict[str, Any]], field: str, text: str) -> list[dict[str, Any]]:
    """One item per non-empty line; a line equal to an existing item keeps that item (its id, tags...)."""
    by_text = {item[field]: item for item in old}
    return [by_text.get(line, {field: line}) for line in (raw.strip() for raw in text.splitlines()) if line]


@router.post("/participants/{participant_id}/plan/edit")
async def save_plan(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                    client: Api = Depends(api), form: dict = Depends(form_with_csrf)) -> Response:
    pid = str(participant_id)
    based_on = str(form.get("version", ""))
    current = await client.get("planning", f"/v1/participants/{pid}/plan", version=based_on or None)
    sections = {s: _section(current["sections"].get(s, []), f, str(form.get(s, ""))) for s, f in LINE_SECTIONS.items()}
    body: dict[str, Any] = {"sections": sections}
    if form.get("status") and form["status"] != current["status"]:
        body["status"] = form["status"]
    try:
        await client.send("planning", "PUT", f"/v1/participants/{pid}/plan", body,
                          headers={"If-Match": f'"{based_on}"'})
    except Invalid as problem:
        conflict = None
        if problem.status == 412:
            conflict = await client.get("planning", f"/v1/participants/{pid}/plan")
        return render(request, "plan_edit.html", 409 if conflict else 422, pid=pid, plan=conflict or current,
                      values=form, problem=problem, conflict=conflict, statuses=STATUSES, title="Edit the plan")
    return redirect(f"/participants/{pid}/plan")
