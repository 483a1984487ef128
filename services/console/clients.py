"""Calls to the four services with the signed-in user's bearer token, and what their answers mean.

A refused connection or a 5xx is :class:`ServiceDown` (the page shows a banner naming the service);
401 ends the session; 403 and 404 are :class:`NotVisible` (one plain page, so another agency's
record looks like no record at all); a 422 is :class:`Invalid` with a message per field.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import httpx
import orjson


class ServiceDown(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is not answering")
        self.service = service


class SignedOut(Exception):
    """The service refused the token (expired or revoked): sign in again."""


class NotVisible(Exception):
    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(detail)
        self.status = status


#: the header a read of a record off the caller's caseload carries (the services' break-the-glass policy)
REASON_HEADER = "Waypoint-Access-Reason"
GLASS_REQUIRED = "break-the-glass-required"
REASON_INVALID = "access-reason-invalid"
_PARTICIPANT_PATH = re.compile(r"^/v1/participants/([0-9a-fA-F-]{36})(?:/|$)")
#: printable ASCII travels as is; anything else (and "%") percent-encoded, as the services decode it
_REASON_SAFE = "".join(chr(c) for c in range(32, 127) if chr(c) != "%")


def participant_in(path: str) -> str | None:
    """The participant id an API path is about (``/v1/participants/{id}/...``), if any."""
    match = _PARTICIPANT_PATH.match(path)
    return match.group(1).lower() if match else None


def reason_header(kind: str, text: str) -> str:
    """The header value for a reason: ``<kind>: <text>``, the text on one line, percent-encoded
    where it is not printable ASCII."""
    return f"{kind}: {quote(' '.join(text.split()), safe=_REASON_SAFE)}"


class GlassRequired(Exception):
    """The record is not on the user's caseload: they may open it by giving a reason (or the reason
    they gave was refused: ``refused`` says why)."""

    def __init__(self, service: str, participant_id: str | None, problem: dict[str, Any],
                 refused: str | None = None) -> None:
        super().__init__(str(problem.get("detail", "")))
        self.service = service
        self.participant_id = participant_id
        self.problem = problem
        self.refused = refused


class Invalid(Exception):
    """A 422 (or another 4xx with a problem body): ``errors`` maps a field path to its message."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.detail = str(problem.get("detail") or problem.get("title") or "the service refused this")
        self.errors = {str(e.get("field", "")): str(e.get("message", "")) for e in problem.get("errors", []) or []}
        super().__init__(self.detail)

    def for_field(self, *prefixes: str) -> str | None:
        for name, message in self.errors.items():
            if any(name == p or name.startswith(p + ".") for p in prefixes):
                return message
        return None


class Services:
    """One pooled HTTP client for all four services."""

    def __init__(self, urls: dict[str, str], timeout: float, transport: httpx.AsyncBaseTransport | None = None):
        self.urls = urls
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, service: str, method: str, path: str, token: str, *, json: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            r = await self.http.request(method, self.urls[service] + path, json=json, params=params,
                                        headers=all_headers)
        except httpx.HTTPError:
            raise ServiceDown(service) from None
        if r.status_code >= 500:
            raise ServiceDown(service)
        if r.status_code == 401:
            raise SignedOut()
        if r.status_code in (403, 422) and _code(r) in (GLASS_REQUIRED, REASON_INVALID):
            problem = _problem(r)
            raise GlassRequired(service, participant_in(path), problem,
                                refused=str(problem.get("detail")) if r.status_code == 422 else None)
        if r.status_code in (403, 404):
            raise NotVisible(r.status_code, _detail(r))
        if r.status_code >= 400:
            raise Invalid(r.status_code, _problem(r))
        return r


def _problem(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {"detail": r.text[:200]}
    return body if isinstance(body, dict) else {"detail": str(body)}


def _code(r: httpx.Response) -> str:
    """The last part of a problem's ``type`` (``https://waypoint.dev/problems/<code>``)."""
    if "json" not in r.headers.get("content-type", ""):
        return ""
    return str(_problem(r).get("type", "")).rsplit("/", 1)[-1]


def _detail(r: httpx.Response) -> str:
    return str(_problem(r).get("detail", ""))


class Api:
    """The services as the signed-in user sees them: ``await api.get("intake", "/v1/...")``."""

    def __init__(self, services: Services, token: str, reasons: dict[str, str] | None = None) -> None:
        self._s = services
        self._token = token
        self._reasons = reasons or {}

    def _headers(self, path: str, headers: dict[str, str] | None = None) -> dict[str, str] | None:
        """The reason the user gave for this participant's record travels with every call about them."""
        pid = participant_in(path)
        if pid is None or pid not in self._reasons:
            return headers
        return {**(headers or {}), REASON_HEADER: self._reasons[pid]}

    async def get(self, service: str, path: str, /, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        r = await self._s.call(service, "GET", path, self._token, params=clean, headers=self._headers(path))
        return orjson.loads(r.content)

    async def all_pages(self, service: str, path: str, key: str, /, max_pages: int = 20, **params: Any) -> Any:
        """Every entry of a paged list (``limit``/``offset``/``next_offset``), 500 a request: the first
        page, then the next three at a time (a caseload of 2,000 is two round trips, not four)."""
        size, ahead = 500, 3
        first = await self.get(service, path, **params, limit=size, offset=0)
        entries: list[Any] = list(first[key])
        offset = first.get("next_offset")
        while offset is not None and len(entries) < max_pages * size:
            pages = await asyncio.gather(*(self.get(service, path, **params, limit=size, offset=offset + i * size)
                                           for i in range(ahead)))
            for got in pages:
                entries += got[key]
                if got.get("next_offset") is None:
                    return {key: entries}
            offset += ahead * size
        return {key: entries}

    async def send(self, service: str, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        return await self._s.call(service, method, path, self._token, json=body, headers=self._headers(path, headers))

    async def post(self, service: str, path: str, body: Any = None) -> Any:
        r = await self.send(service, "POST", path, body)
        return r.json() if r.content else None
