"""Intake's process: HTTP API, outbox relay and the consent-expiry sweep (intake consumes no events)."""

import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake.adapters.tables import PostgresTables
from services.intake.application.consents import consent_expiry_loop
from services.intake.entrypoints.api import router
from shared import minimum_necessary
from shared.runtime import Runtime, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _background(rt: Runtime) -> list[Coroutine[Any, Any, None]]:
    interval = float(os.environ.get("INTAKE_CONSENT_SWEEP_INTERVAL_S", "300"))
    return [consent_expiry_loop(rt.uow, rt.pool, interval)]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    app = create_service_app(
        "intake", routers=[router, minimum_necessary.router], migrations=MIGRATIONS, background=_background,
        settings=settings,
        tables=PostgresTables,
    )
    return app
