"""Development only: the emails the local SMTP catcher caught (the escalation ladder's messages)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.session import Session
from services.console.web import render, role

router = APIRouter()


@router.get("/mailbox")
async def mailbox(request: Request, _: Session = Depends(role("specialist", "supervisor", "agency_admin"))) -> Response:
    settings = request.app.state.settings
    if not settings.development:
        return render(request, "error.html", 404, title="Not found", message="There is nothing here.")
    messages, note = None, ""
    if not settings.mailbox_url:
        note = "No mailbox is configured (MAILBOX_URL): the development SMTP catcher is not running."
    else:
        try:
            r = await request.app.state.services.http.get(settings.mailbox_url.rstrip("/") + "/v1/messages",
                                                         params={"limit": 50})
            r.raise_for_status()
            body = r.json()
            messages = body.get("messages", body) if isinstance(body, dict) else body
        except (httpx.HTTPError, ValueError):
            note = f"The development mailbox at {settings.mailbox_url} is not answering."
    return render(request, "mailbox.html", messages=messages, note=note, title="Mailbox")


@router.get("/mailbox/{message_id}")
async def message(request: Request, message_id: str,
                  _: Session = Depends(role("specialist", "supervisor", "agency_admin"))) -> Response:
    settings = request.app.state.settings
    if not settings.development or not settings.mailbox_url or not message_id.replace("-", "").isalnum():
        return render(request, "error.html", 404, title="Not found", message="There is nothing here.")
    try:
        r = await request.app.state.services.http.get(f"{settings.mailbox_url.rstrip('/')}/v1/messages/{message_id}")
        r.raise_for_status()
    except httpx.HTTPError:
        return render(request, "error.html", 404, title="Not found", message="That email is not in the mailbox.")
    return render(request, "mailbox_message.html", msg=r.json(), title="Email")
