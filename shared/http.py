"""HTTP conventions shared by every service: RFC 9457 problem details, correlation ids, auth
dependency, health and metrics endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
         "message": err.get("msg", "invalid"), "type": err.get("type")}
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

    @app.middleware("http")
    async def correlate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id, service=service)
        with LATENCY.labels(service, request.method).time():
            response = await call_next(request)
        REQUESTS.labels(service, request.method, str(response.status_code)).inc()
        response.headers["x-correlation-id"] = correlation_id
        structlog.contextvars.clear_contextvars()
        return response

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller (401 problem otherwise)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.authenticate(request)


def require_roles(*roles: str) -> Callable[[Request], Principal]:
    """FastAPI dependency factory: the caller must hold one of ``roles`` (403 otherwise)."""

    def dependency(request: Request) -> Principal:
        caller = principal(request)
        if not caller.has_any(*roles):
            raise AuthError(f"requires one of the roles: {', '.join(roles)}", status=403)
        return caller

    return dependency
