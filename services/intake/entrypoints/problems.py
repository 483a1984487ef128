"""Intake's refinements of the shared problem details for bodies that are not JSON at all.

FastAPI parses the body before any dependency runs, so a malformed JSON body used to answer 422
even without a token (and named a character offset, e.g. ``27``, as the bad field). Here the
caller is authenticated first (401 without a valid token, like every other request), and an
unparseable body is reported at the field ``body``; everything else goes to the shared handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from shared.auth import AuthError
from shared.http import principal, problem

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _located_at_body(error: dict[str, Any]) -> dict[str, Any]:
    if error.get("type") == "json_invalid":
        return {**error, "loc": ("body",)}
    return error


def install(app: FastAPI) -> None:
    """Wrap the shared validation handler: authenticate first, then name ``body`` for bad JSON."""
    shared: Handler = app.exception_handlers[RequestValidationError]

    async def validation_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        try:
            principal(request)
        except AuthError as refused:
            return problem(refused.status, "Unauthorized", refused.message, code="unauthorized")
        errors = [_located_at_body(dict(e)) for e in exc.errors()]
        response = shared(request, RequestValidationError(errors, body=exc.body))
        return await response if isinstance(response, Awaitable) else response

    app.add_exception_handler(RequestValidationError, validation_problem)
