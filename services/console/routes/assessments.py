"""Record an assessment: one instrument per form, every item shown, results with bands afterwards."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.instruments import body_of, catalogue, missing
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")


def _page(request: Request, pid: str, specs: dict[str, Any], key: str, values: dict[str, Any],
          problem: Invalid | None) -> Response:
    item_errors: dict[int, str] = {}
    general = None
    keys = [item.get("key") for item in specs[key]["items"]]
    if problem:
        for name, message in problem.errors.items():
            last = name.split(".")[-1]
            if last.isdigit():
                item_errors[int(last)] = message
            elif last in keys:
                item_errors[keys.index(last)] = message
            else:
                general = message
        general = general or (None if item_errors else problem.detail)
    return render(request, "assessment_form.html", 422 if problem else 200, pid=pid, key=key, spec=specs[key],
                  instruments=specs, values=values, item_errors=item_errors, general=general,
                  title=f"Record an assessment: {specs[key]['name']}")


@router.get("/participants/{participant_id}/assessments/new")
async def assessment_form(request: Request, participant_id: UUID, instrument: str = "phq9",
                          _: Session = Depends(role(*STAFF)), client: Api = Depends(api)) -> Response:
    specs = await catalogue(request.app.state, client)
    return _page(request, str(participant_id), specs, instrument if instrument in specs else "phq9", {}, None)


@router.post("/participants/{participant_id}/assessments/new")
async def record(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                 client: Api = Depends(api), form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    specs = await catalogue(request.app.state, client)
    key = str(form.get("instrument", "phq9"))
    if key not in specs:
        key = "phq9"
    unanswered = missing(specs[key], form)
    if unanswered:  # answered before the service is asked: every unanswered item is named
        errors = [{"field": f"{key}.answers.{i}", "message": "Choose an answer"} for i in unanswered]
        return _page(request, str(participant_id), specs, key, form, Invalid(422, {"detail": "", "errors": errors}))
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/assessments", body_of(specs[key], form))
    except Invalid as problem:
        return _page(request, str(participant_id), specs, key, form, problem)
    return redirect(f"/participants/{participant_id}#assess-h")
