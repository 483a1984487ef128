"""Serve an ASGI app over real HTTP inside the test's event loop (for a browser to open)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, Literal

import uvicorn


def http_test_port(offset: int) -> int:
    """Port ``WAYPOINT_TEST_HTTP_BASE + offset`` (default base 18000): suites run side by side."""
    return int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000")) + offset


@contextlib.asynccontextmanager
async def serving(app: Any, port: int, *, lifespan: Literal["auto", "on", "off"] = "on") -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1:``port`` until the block ends; yields its base URL.

    ``lifespan="off"`` serves routes that need no runtime (``/docs``, ``/openapi.json``) without
    a database or a broker.
    """
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
    while not server.started:
        if task.done():  # could not bind, or the lifespan failed: its error, not a hang
            task.result()
            raise RuntimeError(f"uvicorn on port {port} stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
