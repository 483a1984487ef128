"""Intake's process: HTTP API and outbox relay (intake consumes no events)."""

from pathlib import Path

from fastapi import FastAPI

from services.intake.entrypoints.api import router
from shared.runtime import create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app("intake", routers=[router], migrations=MIGRATIONS, settings=settings)
