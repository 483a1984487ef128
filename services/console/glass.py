"""Reasons given to open records off the user's caseload ("breaking the glass").

A reason is kept for one participant, one session and ``TTL_S`` seconds, in an encrypted HttpOnly
cookie of its own (the same key as the session cookie), and sent with every call the console
makes about that participant meanwhile, so that each read is flagged with it in the access log.
After that, or in another session, the console asks again.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from cryptography.fernet import InvalidToken
from fastapi import Request
from fastapi.responses import Response

from services.console.session import Session, _fernet

COOKIE = "waypoint_glass"
TTL_S = 3600
MAX_RECORDS = 8  # the cookie stays small: the most recent reasons only
#: why a record is opened, as the services accept them, in the user's words
KINDS = {"covering": "Covering for a colleague", "emergency": "An emergency", "supervision": "Supervision",
         "quality-review": "A quality review", "other": "Another reason (say which below)"}
MIN_TEXT, MAX_TEXT = 10, 300


def _cipher(request: Request) -> Any:
    return _fernet(request.app.state.settings.session_secret)


def _stored(request: Request, session: Session) -> dict[str, list[Any]]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = orjson.loads(_cipher(request).decrypt(raw.encode(), ttl=TTL_S))
    except (InvalidToken, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("session") != session.csrf:  # another session's
        return {}
    now = time.time()
    return {pid: entry for pid, entry in (data.get("reasons") or {}).items() if entry[1] > now}


def reasons_of(request: Request, session: Session) -> dict[str, str]:
    """Participant id -> the reason header value, for the reasons still in force."""
    return {pid: str(entry[0]) for pid, entry in _stored(request, session).items()}


def remember(response: Response, request: Request, session: Session, participant_id: str, header: str) -> None:
    """Keep ``header`` (see :func:`services.console.clients.reason_header`) for this participant."""
    kept = _stored(request, session)
    kept[participant_id.lower()] = [header, time.time() + TTL_S]
    newest = dict(sorted(kept.items(), key=lambda item: item[1][1])[-MAX_RECORDS:])
    value = _cipher(request).encrypt(orjson.dumps({"session": session.csrf, "reasons": newest})).decode()
    settings = request.app.state.settings
    https = request.url.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"
    secure = settings.secure_cookies == "always" or (settings.secure_cookies == "auto" and https)
    response.set_cookie(COOKIE, value, max_age=TTL_S, httponly=True, samesite="lax", secure=secure, path="/")


def check(kind: str, text: str) -> dict[str, str]:
    """What is wrong with a reason, by field (the services check it again)."""
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "Choose why you are opening this record."
    length = len(" ".join(text.split()))
    if length < MIN_TEXT:
        errors["text"] = f"Say why in at least {MIN_TEXT} characters."
    elif length > MAX_TEXT:
        errors["text"] = f"Keep it to {MAX_TEXT} characters (this is {length})."
    return errors
