"""The four service processes on real Kafka and PostgreSQL, each on a fresh database, for tests
that need real HTTP ports (end-to-end and browser tests)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deploy.services import SERVICES, start_services, stop_services
from shared.db import ensure_database
from shared.testing.http_server import http_test_port


def stack_ports(first_offset: int) -> dict[str, int]:
    """Ports for the four services: ``WAYPOINT_TEST_HTTP_BASE + first_offset`` and the three after it."""
    return {name: http_test_port(first_offset + i) for i, name in enumerate(SERVICES)}


@contextlib.contextmanager
def service_stack(
    infra: Any, state_dir: Path, ports: Mapping[str, int], *, env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> Iterator[dict[str, str]]:
    """Start intake, planning, monitoring and notifications as processes (``python -m services.X``)
    on ``ports``, each on a new database of the session's PostgreSQL; yields ``{service: base URL}``
    and stops them afterwards. ``env`` adds settings (e.g. ``NOTIFICATIONS_SMTP_PORT``)."""
    run = uuid.uuid4().hex[:8]
    server = infra.database_url.rsplit("/", 1)[0]
    names = {service: f"stack_{service}_{run}" for service in ports}
    child_env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "DATABASE_URL": infra.database_url,
        "LOG_JSON": "true",
        "RELAY_POLL_INTERVAL_S": "0.2",
        **{f"{service.upper()}_DATABASE_URL": f"{server}/{name}" for service, name in names.items()},
        **(env or {}),
    }

    async def create() -> None:
        for name in names.values():
            await ensure_database(infra.database_url, name)

    asyncio.run(create())
    try:
        yield start_services(state_dir, child_env, ports=ports, timeout=timeout)
    finally:
        stop_services(state_dir)
