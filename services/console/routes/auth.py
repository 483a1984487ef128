"""Sign-in (development form or OIDC), sign-out, and the home page that sends each role to its start."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from services.console import glass, oidc
from services.console.session import COOKIE, Session
from services.console.web import form_with_csrf, redirect, render, session_of, signed_in
from shared.auth import ROLES, issue_token

router = APIRouter()
DEV_ROLES = sorted(ROLES - {"integration"})
#: before anyone is signed in, the sign-in form's CSRF token lives in a cookie of its own (double submit)
SIGN_IN_COOKIE = "waypoint_sign_in"


def _sign_in_form(request: Request, status: int = 200, **context: object) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "sign_in.html", status, roles=DEV_ROLES, sign_in_csrf=token, **context)
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/sign-in")
    return response


def start_session(request: Request, session: Session, to: str) -> Response:
    settings = request.app.state.settings
    https = request.url.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"
    secure = settings.secure_cookies == "always" or (settings.secure_cookies == "auto" and https)
    response = redirect(to if to.startswith("/") and not to.startswith("//") else session.home)
    response.set_cookie(COOKIE, request.app.state.codec.encode(session), max_age=int(session.expires_at - time.time()),
                        httponly=True, samesite="lax", secure=secure, path="/")
    return response


@router.get("/")
async def home(request: Request) -> Response:
    session = session_of(request)
    return redirect(session.home if session else "/sign-in")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "", expired: int = 0) -> Response:
    settings = request.app.state.settings
    if not settings.development:
        return await oidc.begin(request, next)
    return _sign_in_form(request, next=next, expired=bool(expired), values={}, errors={})


@router.post("/sign-in")
async def dev_sign_in(
    request: Request, user: str = Form(""), agency: str = Form(""), role: str = Form(""), next: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    """Development only: a token minted with the development secret, as ``waypoint token`` does."""
    settings = request.app.state.settings
    if not settings.development:
        return render(request, "error.html", 404, title="Not found", message="There is nothing here.")
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not csrf or not expected or not secrets.compare_digest(csrf, expected):
        return render(request, "error.html", 403, title="Not allowed",
                      message="This sign-in form has expired or did not come from this site. Reload it and try again.")
    errors = {}
    if not user.strip():
        errors["user"] = "Enter a user id, e.g. specialist-1 (a participant signs in with their participant id)"
    if not agency.strip():
        errors["agency"] = "Enter an agency id, e.g. agency-a"
    if role not in DEV_ROLES:
        errors["role"] = "Choose a role"
    if errors:
        values = {"user": user, "agency": agency, "role": role}
        return _sign_in_form(request, 422, next=next, expired=False, values=values, errors=errors)
    ttl = settings.session_ttl_s
    token = issue_token(settings.jwt_secret, sub=user.strip(), agency_id=agency.strip(), roles=[role], ttl_s=ttl)
    session = request.app.state.codec.new(sub=user.strip(), agency_id=agency.strip(), roles=[role], token=token)
    return start_session(request, session, next)


@router.get("/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    session = await oidc.finish(request)
    return start_session(request, session, oidc.next_of(request))


@router.post("/sign-out")
async def sign_out(request: Request, _: Session = Depends(signed_in),
                   __: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    response = redirect("/sign-in")
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(glass.COOKIE, path="/")  # the reasons given in this session go with it
    return response
