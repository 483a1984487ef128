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

from shared.auth import Authenticator, AuthError, Principal
from shared.domain import DomainError
from shared.eventstore.base import ConcurrencyError

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


def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI parses the body before any dependency runs: authenticate first, so that a request
    # without a valid token is a 401 whatever its body, as it is everywhere else.
    try:
        authenticate(request)
    except AuthError as refused:
        return _auth_problem(request, refused)
    errors = [
        {"field": _field(err), "message": err.get("msg", "invalid"), "type": err.get("type")}
        for err in exc.errors()
    ]
    return problem(422, "Invalid request", f"{len(errors)} invalid field(s)", code="validation-error",
                   errors=errors)


def _domain_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": exc.message}]
    return problem(exc.status, type(exc).__name__, exc.message, code=exc.code, **extra)


def _auth_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    return problem(exc.status, "Unauthorized" if exc.status == 401 else "Forbidden", exc.message,
                   code="unauthorized" if exc.status == 401 else "forbidden")


def _concurrency_problem(_: Request, exc: Exception) -> JSONResponse:
    return problem(409, "Concurrent change", "the record changed meanwhile; reload and retry",
                   code="concurrency-conflict")


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), code="http-error")


def install_conventions(app: FastAPI, service: str) -> None:
    """Problem-details handlers, correlation-id and metrics middleware, /metrics and /health/live."""
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(DomainError, _domain_problem)
    app.add_exception_handler(AuthError, _auth_problem)
    app.add_exception_handler(ConcurrencyError, _concurrency_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)

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
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            LATENCY.labels(self.service, method).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, method, str(status["code"])).inc()
            structlog.contextvars.clear_contextvars()


async def principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller (401 problem otherwise).

    Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` ones in a worker
    thread, and at hundreds of requests per second those hand-offs cost more than the check.
    """
    return authenticate(request)


def authenticate(request: Request) -> Principal:
    """The authenticated caller of ``request`` (raises AuthError)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.authenticate(request)


def require_roles(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency factory: the caller must hold one of ``roles`` (403 otherwise)."""

    async def dependency(request: Request) -> Principal:
        caller = authenticate(request)
        if not caller.has_any(*roles):
            raise AuthError(f"requires one of the roles: {', '.join(roles)}", status=403)
        return caller

    return dependency
