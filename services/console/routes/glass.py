"""Breaking the glass: the page that asks why a record off the user's caseload is opened, and the
supervisor's list of the records opened that way (from every service's flagged accesses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console import glass
from services.console.clients import Api, GlassRequired, reason_header
from services.console.parts import gather
from services.console.session import Session
from services.console.web import api, form_with_csrf, redirect, render, role

router = APIRouter()
STAFF = ("specialist", "supervisor", "agency_admin")
SERVICES = ("intake", "planning", "monitoring", "notifications")


def _next(participant_id: str, wanted: str | None) -> str:
    """Where to go once the reason is given: the page asked for, if it is this participant's."""
    own = f"/participants/{participant_id}"
    if wanted and (wanted == own or wanted.startswith(own + "/") or wanted.startswith(own + "?")):
        return wanted
    return own


def reason_page(request: Request, participant_id: str, wanted: str | None, status_code: int = 403, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                refused: str | None = None, resume: dict[str, str] | None = None) -> Response:
    return render(request, "glass.html", status_code, pid=participant_id, next=_next(participant_id, wanted),
                  kinds=glass.KINDS, values=values or {}, errors=errors or {}, refused=refused, resume=resume,
                  min_text=glass.MIN_TEXT, max_text=glass.MAX_TEXT, title="Give a reason to open this record")


async def _held_form(request: Request, participant_id: str) -> dict[str, str] | None:
    """A form the user sent when the service asked for a reason (their reason ran out while they
    typed, say, a plan): kept on the reason page, so that nothing typed is lost. Only for this
    participant's pages, and never the old CSRF token."""
    path = request.url.path
    if _next(participant_id, path) != path:
        return None
    fields = [(key, value) for key, value in (await request.form()).multi_items()
              if key != "csrf" and isinstance(value, str)]
    return {"path": path, "fields": orjson.dumps(fields).decode()}


def _resume(form: dict[str, Any], participant_id: str) -> dict[str, Any] | None:
    """The held form posted back with the reason: (path, fields), if it is one of this
    participant's pages and reads as a list of pairs."""
    path, fields = str(form.get("resume_path") or ""), str(form.get("resume_fields") or "")
    if not path or _next(participant_id, path) != path:
        return None
    try:
        pairs = orjson.loads(fields)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        return None
    return {"path": path, "fields": fields, "pairs": [(str(k), str(v)) for k, v in pairs]}


async def glass_required(request: Request, exc: Exception) -> Response:
    """Exception handler: a service asks for a reason (or refused the one given)."""
    assert isinstance(exc, GlassRequired)
    pid = exc.participant_id or request.path_params.get("participant_id")
    if pid is None:
        return render(request, "error.html", 403, title="Not allowed", message=str(exc))
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    resume = None
    if request.method != "GET":
        wanted = f"/participants/{pid}"
        resume = await _held_form(request, str(pid))
    errors = {"text": exc.refused} if exc.refused else None
    return reason_page(request, str(pid), wanted, errors=errors, refused=exc.refused, resume=resume)


@router.get("/participants/{participant_id}/reason")
async def ask(request: Request, participant_id: UUID, next: str | None = None,
              _: Session = Depends(role(*STAFF))) -> Response:
    return reason_page(request, str(participant_id), next, 200)


@router.post("/participants/{participant_id}/reason")
async def give(request: Request, participant_id: UUID, session: Session = Depends(role(*STAFF)),
               form: dict[str, Any] = Depends(form_with_csrf)) -> Response:
    pid = str(participant_id)
    kind, text = str(form.get("kind", "")), str(form.get("text", ""))
    errors = glass.check(kind, text)
    resume = _resume(form, pid)
    if errors:
        return reason_page(request, pid, str(form.get("next", "")), 422, values=form, errors=errors, resume=resume)
    if resume is not None:  # back to what they were sending: they send it again, knowingly
        response: Response = render(request, "glass_resume.html", pid=pid, resume=resume,
                                    title="Send what you typed")
    else:
        response = redirect(_next(pid, str(form.get("next", ""))))
    glass.remember(response, request, session, pid, reason_header(kind, text))
    return response


# --- the supervisor's list -------------------------------------------------------------------------

def grouped(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per person, record and reason (a page view makes several flagged reads, one per
    call), newest first, with how many reads and in which services."""
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for e in sorted(entries, key=lambda e: e["at"]):
        key = (e["actor"], e["participant_id"], e.get("reason_kind") or "", e.get("reason") or "")
        g = groups.setdefault(key, {"actor": e["actor"], "participant_id": e["participant_id"],
                                    "reason_kind": e.get("reason_kind"), "reason": e.get("reason"),
                                    "first": e["at"], "services": [], "reads": 0})
        g["last"] = e["at"]
        g["reads"] += 1
        if e["service"] not in g["services"]:
            g["services"].append(e["service"])
    return sorted(groups.values(), key=lambda g: g["last"], reverse=True)


async def flagged_accesses(client: Api, down: list[str], since: datetime) -> list[dict[str, Any]] | None:
    """Every service's flagged accesses since ``since`` (None when no service could say)."""
    got = await gather(down, **{s: client.all_pages(s, "/v1/flagged-accesses", "flagged_accesses",
                                                    since=since.isoformat()) for s in SERVICES})
    if all(v is None for v in got.values()):
        return None
    return [{**e, "service": s} for s, v in got.items() for e in (v or {}).get("flagged_accesses", [])]


@router.get("/flagged-accesses")
async def flagged_page(request: Request, days: int = 7, _: Session = Depends(role("supervisor", "agency_admin")),
                       client: Api = Depends(api)) -> Response:
    days = max(1, min(days, 90))
    down: list[str] = []
    entries = await flagged_accesses(client, down, datetime.now(UTC) - timedelta(days=days))
    groups = grouped(entries or [])
    names: dict[str, Any] = {}
    if groups:
        ids = sorted({g["participant_id"] for g in groups})[:500]
        found = await gather(down, people=client.get("intake", "/v1/participants", participant_id=ids, limit=len(ids)))
        names = {p["participant_id"]: p for p in (found["people"] or {}).get("participants", [])}
    return render(request, "flagged.html", groups=groups, names=names, days=days, down=down,
                  unavailable=entries is None, title="Records opened with a reason")


