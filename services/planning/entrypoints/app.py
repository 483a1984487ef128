"""Planning's process: HTTP API, outbox relay and the consumer of intake's events."""

from pathlib import Path

from fastapi import FastAPI

from services.planning.application.slice import on_intake_event
from services.planning.entrypoints.api import router
from shared.cloudevents import topic_for
from shared.runtime import ConsumerSpec, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(
        "planning",
        routers=[router],
        migrations=MIGRATIONS,
        settings=settings,
        consumers=lambda rt: [ConsumerSpec("plans", [topic_for("intake")], on_intake_event)],
    )
