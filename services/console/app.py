"""The console's FastAPI app: static files, pages, and what a failure looks like to a person."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from services.console.clients import GlassRequired, NotVisible, ServiceDown, Services, SignedOut
from services.console.routes import ROUTERS
from services.console.routes.glass import glass_required
from services.console.session import COOKIE, SessionCodec
from services.console.settings import ConsoleSettings
from services.console.web import NotSignedIn, Refused, redirect, render

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("waypoint.console")


def create_app(settings: ConsoleSettings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if not settings.development and not settings.oidc_issuer:
        raise RuntimeError("WAYPOINT_ENV=production needs OIDC_ISSUER (and OIDC_CLIENT_ID) for sign-in")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.services.close()

    app = FastAPI(title="Waypoint console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.codec = SessionCodec(settings.session_secret, settings.session_ttl_s)
    app.state.transport = transport  # tests: a stand-in for the services and the OIDC provider
    app.state.services = Services(settings.service_urls(), settings.service_timeout_s, transport)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _errors(app)

    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: Exception) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": "/sign-in"})
        return redirect(f"/sign-in?next={request.url.path}")

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _: Exception) -> Response:
        response = redirect("/sign-in?expired=1")
        response.delete_cookie(COOKIE)
        return response

    @app.exception_handler(ServiceDown)
    async def down(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceDown)
        if request.headers.get("HX-Request"):
            return render(request, "partials/down.html", down=[exc.service])
        return render(request, "error.html", 503, down=[exc.service], title="Service not answering",
                      message="Part of Waypoint is not answering. Try again in a minute.")

    app.add_exception_handler(GlassRequired, glass_required)

    @app.exception_handler(NotVisible)
    async def not_visible(request: Request, _: Exception) -> Response:
        return render(request, "error.html", 404, title="Not found",
                      message="There is nothing here, or it is not yours to see.")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        log.exception("console page failed", exc_info=exc)
        return render(request, "error.html", 500, title="Something went wrong",
                      message="This page could not be shown. Try again; if it keeps happening, tell your admin.")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return render(request, "error.html", 403, title="Not allowed", message=exc.message)
