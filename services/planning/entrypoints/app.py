"""Planning's process: HTTP API, outbox relay, and consumers of intake's and monitoring's events."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.planning.adapters.tables import PostgresTables
from services.planning.application.consumers import INTAKE_EVENTS, on_intake_event, on_monitoring_event
from services.planning.domain.lifecycle import PlanVersionConflict
from services.planning.entrypoints import api, education_api
from shared import minimum_necessary
from shared.cloudevents import topic_for
from shared.http import problem
from shared.keyring import ERASURE_EVENTS, on_participant_erased
from shared.runtime import ConsumerSpec, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _stale_version(_: Request, exc: Exception) -> JSONResponse:
    """412 with the current version, so the client can reload exactly that version and retry."""
    assert isinstance(exc, PlanVersionConflict)
    response = problem(
        412,
        "Plan version conflict",
        exc.message,
        code=exc.code,
        current_version=exc.current,
        your_version=exc.expected,
        errors=[{"field": "If-Match", "message": exc.message}],
    )
    response.headers["ETag"] = f'"{exc.current}"'
    return response


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    app = create_service_app(
        "planning",
        routers=[api.router, education_api.router, minimum_necessary.router],
        migrations=MIGRATIONS,
        settings=settings,
        tables=PostgresTables,
        consumers=lambda rt: [
            ConsumerSpec("plans", [topic_for("intake")], on_intake_event, event_types=INTAKE_EVENTS),
            minimum_necessary.assignment_consumer(),  # who is on whose caseload
            ConsumerSpec("relapses", [topic_for("monitoring")], on_monitoring_event, event_types={"RelapseReported"}),
            ConsumerSpec("erasure", [topic_for("intake")], on_participant_erased, event_types=ERASURE_EVENTS),
        ],
    )
    app.add_exception_handler(PlanVersionConflict, _stale_version)
    return app
