"""The relapse-prevention plan: view (current, a version, or as of a date), history, and edit.

An edit is sent with ``If-Match: "<version it was based on>"``; when somebody saved first (412),
the page shows their version beside what this user typed, so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console import plan_form
from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
STATUSES = ("draft", "active", "on-hold", "completed", "revoked")


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
    return _editor(request, str(participant_id), plan=plan, values=plan_form.values_of(plan))


def _editor(request: Request, pid: str, status_code: int = 200, *, plan: dict[str, Any], values: dict[str, Any],
            problem: Invalid | None = None, conflict: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None) -> Response:
    return render(request, "plan_edit.html", status_code, pid=pid, plan=plan, values=values, problem=problem,
                  conflict=conflict, errors=errors or {}, statuses=STATUSES, line_sections=plan_form.LINE_SECTIONS,
                  item_sections=plan_form.ITEM_SECTIONS, title="Edit the plan")


@router.post("/participants/{participant_id}/plan/edit")
async def save_plan(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                    client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    pid = str(participant_id)
    based_on = str(form.get("version", ""))
    current = await client.get("planning", f"/v1/participants/{pid}/plan", version=based_on or None)
    if form.get("add"):  # "Add another ...": the same form again with one more empty row, nothing saved
        return _editor(request, pid, plan=current, values=plan_form.values_from(form, add=str(form["add"])))
    edit = plan_form.edit_from(form, current)
    body: dict[str, Any] = {"sections": edit.sections}
    if form.get("status") and form["status"] != current["status"]:
        body["status"] = form["status"]
    try:
        await client.send("planning", "PUT", f"/v1/participants/{pid}/plan", body,
                          headers={"If-Match": f'"{based_on}"'})
    except Invalid as problem:
        conflict = None
        if problem.status == 412:
            conflict = await client.get("planning", f"/v1/participants/{pid}/plan")
        return _editor(request, pid, 409 if conflict else 422, plan=conflict or current,
                       values=plan_form.values_from(form), problem=problem, conflict=conflict,
                       errors=edit.field_errors(problem.errors))
    return redirect(f"/participants/{pid}/plan")
