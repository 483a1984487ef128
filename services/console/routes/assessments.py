"""Record an assessment: one instrument per form, every item shown, results with bands afterwards."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, Invalid
from services.console.instruments import INSTRUMENTS, body_of
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")


def _page(request: Request, pid: str, key: str, values: dict, problem: Invalid | None) -> Response:
    item_errors: dict[int, str] = {}
    general = None
    if problem:
        for field, message in problem.errors.items():
            parts = field.split(".")
            if parts[-1].isdigit():
                item_errors[int(parts[-1])] = message
            elif parts[-1].startswith("d") and parts[-1][1:].isdigit():
                item_errors[int(parts[-1][1:]) - 1] = message
            else:
                general = message
        general = general or (None if item_errors else problem.detail)
    return render(request, "assessment_form.html", 422 if problem else 200, pid=pid, key=key,
                  spec=INSTRUMENTS[key], instruments=INSTRUMENTS, values=values, item_errors=item_errors,
                  general=general, title=f"Record an assessment: {INSTRUMENTS[key].name}")


@router.get("/participants/{participant_id}/assessments/new")
async def assessment_form(request: Request, participant_id: UUID, instrument: str = "phq9",
                          _: Session = Depends(role(*STAFF))) -> Response:
    return _page(request, str(participant_id), instrument if instrument in INSTRUMENTS else "phq9", {}, None)


@router.post("/participants/{participant_id}/assessments/new")
async def record(request: Request, participant_id: UUID, _: Session = Depends(role(*STAFF)),
                 client: Api = Depends(api), form: dict = Depends(form_with_csrf)) -> Response:
    key = str(form.get("instrument", "phq9"))
    if key not in INSTRUMENTS:
        key = "phq9"
    missing = [i for i in range(len(INSTRUMENTS[key].items)) if not str(form.get(f"item-{i}", "")).isdigit()]
    if missing:  # answered before the service is asked: every unanswered item is named
        errors = [{"field": f"{key}.answers.{i}", "message": "Choose an answer"} for i in missing]
        return _page(request, str(participant_id), key, form, Invalid(422, {"detail": "", "errors": errors}))
    try:
        await client.post("intake", f"/v1/participants/{participant_id}/assessments", body_of(key, form))
    except Invalid as problem:
        return _page(request, str(participant_id), key, form, problem)
    return redirect(f"/participants/{participant_id}#assess-h")
