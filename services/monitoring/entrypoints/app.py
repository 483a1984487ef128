"""Monitoring's process: HTTP API, outbox relay and the timeline consumer of every topic."""

from pathlib import Path

from fastapi import FastAPI

from services.monitoring.entrypoints.api import router
from services.monitoring.projections import timeline
from shared.cloudevents import topic_for
from shared.events import SERVICES
from shared.runtime import ConsumerSpec, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(
        "monitoring",
        routers=[router],
        migrations=MIGRATIONS, settings=settings,
        consumers=lambda rt: [ConsumerSpec("timeline", [topic_for(s) for s in SERVICES], timeline.apply)],
    )
