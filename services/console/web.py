"""What every page shares: the session, the user's API client, CSRF checks and rendering."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.console import format as fmt
from services.console.clients import Api
from services.console.glass import reasons_of
from services.console.session import COOKIE, Session

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters.update(fmt.FILTERS)
templates.env.globals.update(fmt.GLOBALS)


class NotSignedIn(Exception):
    pass


class Refused(Exception):
    """The signed-in user's role may not open this page (or the form's CSRF token was wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def session_of(request: Request) -> Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = request.app.state.codec.decode(request.cookies.get(COOKIE))
    session: Session | None = request.state.session
    return session


def signed_in(request: Request) -> Session:
    session = session_of(request)
    if session is None:
        raise NotSignedIn()
    return session


def role(*roles: str) -> Callable[[Session], Session]:
    def check(session: Session = Depends(signed_in)) -> Session:
        if not session.has_any(*roles):
            raise Refused("This page is not part of your role.")
        return session

    return check


def api(request: Request, session: Session = Depends(signed_in)) -> Api:
    return Api(request.app.state.services, session.token, reasons_of(request, session))


async def form_with_csrf(request: Request, session: Session = Depends(signed_in)) -> dict[str, Any]:
    """The posted form, refused (403) unless it carries this session's CSRF token."""
    form = await request.form()
    sent = str(form.get("csrf") or request.headers.get("X-CSRF-Token") or "")
    if not sent or not secrets.compare_digest(sent, session.csrf):
        raise Refused("This form has expired or did not come from this site. Reload the page and try again.")
    out: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("down", [])
    return templates.TemplateResponse(
        request, name, {"session": session_of(request), "development": request.app.state.settings.development,
                        **context}, status_code=status_code,
    )


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def to_participant(typed_id: str, page: str, otherwise: str) -> Response:
    """The admin's "open by id" forms: to ``/participants/<id>/<page>``, or back to ``otherwise``
    when what was typed is not a participant id."""
    try:
        return redirect(f"/participants/{UUID(typed_id.strip())}/{page}")
    except ValueError:
        return redirect(otherwise)


def listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
