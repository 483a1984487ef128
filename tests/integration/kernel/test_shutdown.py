"""A service always exits: shutdown waits for its background tasks and connections only so long."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest

from shared import runtime
from shared.db import ensure_database
from shared.runtime import create_service_app
from shared.settings import ServiceSettings, database_for

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "intake" / "migrations"


async def test_a_task_that_ignores_cancellation_and_a_connection_never_released_do_not_block_exit(
    kafka_bootstrap, database_url, monkeypatch
):
    monkeypatch.setattr(runtime, "SHUTDOWN_GRACE_S", 0.5)
    name = f"t_shutdown_{uuid.uuid4().hex[:8]}"
    await ensure_database(database_url, name)
    settings = ServiceSettings(
        service="intake", database_url=database_url, service_database_url=database_for(database_url, name),
        kafka_bootstrap_servers=kafka_bootstrap, log_json=False,
    )  # fmt: skip
    released = asyncio.Event()  # lets the stubborn task end after the test, not before

    async def stubborn() -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    app = create_service_app(
        "intake", routers=[], migrations=MIGRATIONS, settings=settings, background=lambda _: [stubborn()]
    )

    async def lifecycle() -> None:
        async with app.router.lifespan_context(app):
            await app.state.runtime.pool.acquire()  # never released

    try:
        await asyncio.wait_for(lifecycle(), timeout=60)  # without the deadline this never returns
    finally:
        released.set()
