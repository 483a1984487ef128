"""Notifications' process: HTTP API, outbox relay and the consumer of the other services' events."""

from pathlib import Path

from fastapi import FastAPI

from services.notifications.application.slice import on_event
from services.notifications.entrypoints.api import router
from shared.cloudevents import topic_for
from shared.runtime import ConsumerSpec, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(
        "notifications", routers=[router], migrations=MIGRATIONS, settings=settings,
        consumers=lambda rt: [
            ConsumerSpec("alerts", [topic_for("intake"), topic_for("planning"), topic_for("monitoring")], on_event)
        ],
    )
