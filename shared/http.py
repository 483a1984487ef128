"""HTTP conventions shared by every service: RFC 9457 problem details, correlation ids, auth
dependency, health and metrics endpoints, and the interactive API page served without a CDN."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import access_audit, tenancy
from shared.auth import Authenticator, AuthError, Principal
from shared.domain import DomainError
from shared.eventstore.base import ConcurrencyError
from shared.idempotency import IdempotencyMiddleware
from shared.limits import DEFAULT_MAX_BODY_BYTES

PROBLEM = "application/problem+json"
REQUESTS = Counter("waypoint_http_requests_total", "HTTP requests", ["service", "method", "status"])
LATENCY = Histogram("waypoint_http_request_seconds", "HTTP request latency", ["service", "method"])


def problem(status: int, title: str, detail: str | None = None, *, code: str = "about:blank",
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": code if code == "about:blank" else f"https://waypoint.dev/problems/{code}",
                            "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(err: Any) -> str:
    if err.get("type") == "json_invalid":  # pydantic locates it at a character offset
        return "body"
    return ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"


async def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI parses the body before any dependency runs: authenticate first, so that a request
    # without a valid token is a 401 whatever its body, as it is everywhere else.
    try:
        await authenticate(request)
    except AuthError as refused:
        return _auth_response(refused)
    errors = [
        {"field": _field(err), "message": err.get("msg", "invalid"), "type": err.get("type")}
        for err in exc.errors()
    ]
    return problem(422, "Invalid request", f"{len(errors)} invalid field(s)", code="validation-error",
                   errors=errors)


async def _record_refused_read(request: Request, status: int) -> None:
    """Access audit of a refused read: an authenticated caller asked for a participant's data and
    got 403 or 404 (another agency's id, someone else's record, nothing there). Recorded as an
    attempt, with who and which id, in the caller's agency."""
    if request.method not in ("GET", "HEAD") or status not in (403, 404):
        return
    raw = request.path_params.get("participant_id")
    runtime = getattr(request.app.state, "runtime", None)
    if raw is None or runtime is None:
        return
    try:
        participant_id = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
        caller = await authenticate(request)
    except (ValueError, AuthError):
        return  # not a participant id, or nobody we could name
    route = getattr(request.scope.get("route"), "path", request.url.path)
    try:
        await access_audit.record(runtime.pool, agency_id=caller.agency_id, actor=caller.sub,
                                  action=f"refused read attempt ({status}): {request.method} {route}",
                                  participant_ids=[participant_id])
    except Exception as exc:  # the refusal is answered whatever happens to its audit row
        structlog.get_logger(__name__).error("refused read not audited", error=repr(exc))


async def _domain_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    await _record_refused_read(request, exc.status)
    extra: dict[str, Any] = dict(getattr(exc, "problem_extra", None) or {})  # members a client acts on
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": exc.message}]
    return problem(exc.status, type(exc).__name__, exc.message, code=exc.code, **extra)


async def _auth_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    await _record_refused_read(request, exc.status)
    return _auth_response(exc)


def _auth_response(exc: AuthError) -> JSONResponse:
    return problem(exc.status, "Unauthorized" if exc.status == 401 else "Forbidden", exc.message,
                   code="unauthorized" if exc.status == 401 else "forbidden")


def _concurrency_problem(_: Request, exc: Exception) -> JSONResponse:
    return problem(409, "Concurrent change", "the record changed meanwhile; reload and retry",
                   code="concurrency-conflict")


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), code="http-error")


def install_conventions(app: FastAPI, service: str, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Problem-details handlers, body-size limit, correlation-id and metrics middleware, /metrics
    and /health/live."""
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(DomainError, _domain_problem)
    app.add_exception_handler(AuthError, _auth_problem)
    app.add_exception_handler(ConcurrencyError, _concurrency_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)

    app.add_middleware(IdempotencyMiddleware, service=service)  # innermost: sees the whole body
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(CorrelationMiddleware, service=service)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


#: Swagger UI as vendored from npm ``swagger-ui-dist`` (deploy/vendor_assets.py).
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
SWAGGER_UI_ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) from files the service serves itself: nothing comes from a CDN, so
    the page works offline. The app must be created with ``docs_url=None, redoc_url=None``
    (FastAPI's own pages load their scripts from a CDN; ReDoc is not offered)."""
    app.mount(SWAGGER_UI_ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{SWAGGER_UI_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI_ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=oauth2_redirect,
            # Swagger UI's default asks an online validator about the schema: never.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def docs_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def correlation_id_from(header: bytes | None) -> str:
    """The caller's correlation id if it is a plain token, else a new one.

    It travels on Kafka headers and into logs, so free text (which could identify someone) is
    never accepted from a client.
    """
    if header:
        candidate = header.decode("latin-1")
        if _CORRELATION_ID.fullmatch(candidate):
            return candidate
    return str(uuid.uuid4())


class CorrelationMiddleware:
    """Pure ASGI middleware: correlation id in, out, and in every log line; request metrics.

    (Starlette's BaseHTTPMiddleware costs a task and a stream per request on the hot path.)
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or ()).get(b"x-correlation-id")
        correlation_id = correlation_id_from(raw)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        method = scope.get("method", "")
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        structlog.contextvars.bind_contextvars(correlation_id=correlation_id, service=self.service)
        started = time.perf_counter()
        scope_token = tenancy.enter_denied()  # no rows until authentication names the agency
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            tenancy.leave(scope_token)
            LATENCY.labels(self.service, method).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, method, str(status["code"])).inc()
            structlog.contextvars.clear_contextvars()


class BodyLimitMiddleware:
    """413 for a request body over ``max_bytes``, before anything parses it.

    A declared ``Content-Length`` over the limit is refused without reading; a chunked body is read
    (at most ``max_bytes`` + one chunk) and refused once it passes the limit, then replayed to the
    application when it fits.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "Request body too large", f"the limit is {self.max_bytes} bytes",
                           code="payload-too-large")
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                too_large = False  # the server rejects a malformed length itself
            if too_large:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller (401 problem otherwise).

    Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` ones in a worker
    thread, and at hundreds of requests per second those hand-offs cost more than the check.
    """
    return await authenticate(request)


async def authenticate(request: Request) -> Principal:
    """The authenticated caller of ``request`` (raises AuthError)."""
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.authenticate(request)
    tenancy.set_agency(caller.agency_id)  # this request's transactions see only this agency's rows
    return caller


def require_roles(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency factory: the caller must hold one of ``roles`` (403 otherwise)."""

    async def dependency(request: Request) -> Principal:
        caller = await authenticate(request)
        if not caller.has_any(*roles):
            raise AuthError(f"requires one of the roles: {', '.join(roles)}", status=403)
        return caller

    return dependency
