"""Run a service in-process against real Kafka and PostgreSQL, with its own fresh database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import httpx
from fastapi import FastAPI

from shared.db import ensure_database
from shared.runtime import Runtime
from shared.settings import ServiceSettings, database_for


@dataclass
class RunningService:
    """A started service: its app, runtime (pool, store, relay, consumers) and an HTTP client."""

    app: FastAPI
    runtime: Runtime
    client: httpx.AsyncClient
    dsn: str


@contextlib.asynccontextmanager
async def running_service(
    service: str, *, kafka_bootstrap: str, database_url: str, database: str | None = None,
    wait_for_kafka: bool = True, **overrides: Any
) -> AsyncIterator[RunningService]:
    """Start ``service``'s app (lifespan included) on a fresh database; stop it afterwards.

    A service serves commands before its Kafka topics exist (they are set up in the background);
    ``wait_for_kafka`` (the default) waits until they do, so the relay and consumers run.

    ``database`` reuses a named database (e.g. to restart a service on its old data).
    ``overrides`` are :class:`ServiceSettings` fields (e.g. ``relay_poll_interval_s=0.1``).
    """
    name = database or f"t_{service}_{uuid.uuid4().hex[:10]}"
    await ensure_database(database_url, name)
    dsn = database_for(database_url, name)
    settings = ServiceSettings(
        service=service, database_url=database_url, service_database_url=dsn,
        kafka_bootstrap_servers=kafka_bootstrap, log_json=False, **overrides,
    )
    module = import_module(f"services.{service}.entrypoints.app")
    app: FastAPI = module.create_app(settings=settings)
    async with app.router.lifespan_context(app):
        if wait_for_kafka:
            await asyncio.wait_for(app.state.runtime.kafka_ready.wait(), 60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
            yield RunningService(app=app, runtime=app.state.runtime, client=client, dsn=dsn)


def package_service(name: str) -> Any:
    """A pytest fixture running service ``name`` for one test package only.

    Not session-scoped on purpose: a service left running stays in its consumer groups and takes
    partitions from the services that later packages start. Use: ``sec_intake = package_service("intake")``
    in a package's conftest.
    """
    import pytest

    @pytest.fixture(scope="package")
    async def service(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
        async with running_service(
            name, kafka_bootstrap=kafka_bootstrap, database_url=database_url, relay_poll_interval_s=0.1
        ) as running:
            yield running

    return service
