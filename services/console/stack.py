"""A whole stack of its own (Kafka, PostgreSQL, four services, console) for screenshots and benchmarks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from deploy import infra
from deploy._util import run_async
from deploy.services import start_services, stop_services
from shared.db import ensure_database

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def own_stack(base: int, name: str, **extra_env: str) -> Iterator[dict[str, str]]:
    """The console on ``base``, the services on ``base+1..4``, Kafka on ``base+7`` (its controller
    ``base+8``), PostgreSQL on ``base+9``; fresh databases; what this started is stopped afterwards."""
    state = REPO_ROOT / ".waypoint" / name
    endpoints = infra.start(state, kafka_port=base + 7, pg_port=base + 9)
    run = uuid.uuid4().hex[:8]
    services = ("intake", "planning", "monitoring", "notifications")
    server = endpoints.database_url.rsplit("/", 1)[0]

    async def create() -> None:
        for service in services:
            await ensure_database(endpoints.database_url, f"{name}_{service}_{run}")

    run_async(create)
    env = {**endpoints.as_env(), "LOG_JSON": "true", "RELAY_POLL_INTERVAL_S": "0.2", **extra_env,
           **{f"{s.upper()}_DATABASE_URL": f"{server}/{name}_{s}_{run}" for s in services}}
    ports = {"console": base, **{s: base + 1 + i for i, s in enumerate(services)}}
    try:
        yield start_services(state, env, ports=ports, timeout=120)
    finally:
        stop_services(state)
        infra.stop(state, components=endpoints.started)
