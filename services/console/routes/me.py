"""The participant's own page, phone first: check in, ask for help now, their days and their plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.checkin_form import check_in_body, plan_choices
from services.console.clients import Api, Invalid
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()


async def _page(request: Request, session: Session, client: Api, values: dict[str, Any], problem: Invalid | None,
                done: str = "", prefs_problem: Invalid | None = None) -> Response:
    me, down = session.sub, list[str]()
    got = await gather(
        down,
        plan=client.get("planning", f"/v1/participants/{me}/plan"),
        recovery=client.get("monitoring", f"/v1/participants/{me}/recovery"),
        schedule=client.get("monitoring", f"/v1/participants/{me}/check-in-schedule"),
        preferences=client.get("notifications", f"/v1/recipients/{me}/preferences"),
    )
    signs, strategies = plan_choices(got["plan"])
    return render(request, "me.html", 422 if problem else 200, values=values, problem=problem, down=down,
                  plan=got["plan"], recovery=got["recovery"], schedule=got["schedule"], prefs=got["preferences"],
                  signs=signs, strategies=strategies, done=done, prefs_problem=prefs_problem, title="Today")


@router.get("/me")
async def today(request: Request, done: str = "", session: Session = Depends(role("participant")),
                client: Api = Depends(api)) -> Response:
    return await _page(request, session, client, {}, None, done)


@router.post("/me/check-in")
async def check_in(request: Request, session: Session = Depends(role("participant")), client: Api = Depends(api),
                   form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    try:
        await client.post("monitoring", f"/v1/participants/{session.sub}/check-ins", check_in_body(form))
    except Invalid as problem:
        return await _page(request, session, client, form, problem)
    return redirect("/me?done=check-in")


@router.post("/me/help")
async def help_now(request: Request, session: Session = Depends(role("participant")), client: Api = Depends(api),
                   form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    await client.post("monitoring", f"/v1/participants/{session.sub}/help-requests", {"channel": "web"})
    return redirect("/me?done=help")


@router.post("/me/preferences")
async def preferences(request: Request, session: Session = Depends(role("participant")), client: Api = Depends(api),
                      form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    body = {"email": str(form.get("email", "")).strip() or None,
            "quiet_hours": str(form.get("quiet_hours", "")).strip() or None}
    try:
        await client.send("notifications", "PUT", f"/v1/recipients/{session.sub}/preferences", body)
    except Invalid as problem:
        return await _page(request, session, client, {}, None, prefs_problem=problem)
    return redirect("/me?done=preferences#prefs-h")
