"""One stack for every browser test: the four services and the console as processes, on the
session's real Kafka and PostgreSQL, on ports from ``WAYPOINT_TEST_HTTP_BASE`` (+10..+14)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from deploy.services import start_services, stop_services
from shared.db import ensure_database

BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
PORTS = {"console": BASE + 10, "intake": BASE + 11, "planning": BASE + 12, "monitoring": BASE + 13,
         "notifications": BASE + 14}


@dataclass
class Stack:
    urls: dict[str, str]

    @property
    def console(self) -> str:
        return self.urls["console"]


# Package scope: stopped after the last console test, so that no service of this stack is still in the
# services' consumer groups (sharing their partitions) when later suites start stacks of their own.
@pytest.fixture(scope="package")
def stack(infra, tmp_path_factory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("console")
    run = uuid.uuid4().hex[:8]
    env = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap, "DATABASE_URL": infra.database_url,
           "LOG_JSON": "true", "RELAY_POLL_INTERVAL_S": "0.2", "SESSION_SECRET": "console-tests-secret",
           "NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}  # the test's webhook receiver is local
    server = infra.database_url.rsplit("/", 1)[0]

    async def create() -> None:
        for name in ("intake", "planning", "monitoring", "notifications"):
            await ensure_database(infra.database_url, f"console_{name}_{run}")

    asyncio.run(create())
    for name in ("intake", "planning", "monitoring", "notifications"):
        env[f"{name.upper()}_DATABASE_URL"] = f"{server}/console_{name}_{run}"
    try:
        yield Stack(start_services(state, env, ports=PORTS, timeout=120))
    finally:
        stop_services(state)


async def sign_in(page, stack: Stack, user: str, agency: str, role: str) -> None:
    """The development sign-in, as a person fills it in."""
    await page.goto(f"{stack.console}/sign-in")
    await page.get_by_label("User").fill(user)
    await page.get_by_label("Agency").fill(agency)
    await page.get_by_label("Role").select_option(role)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)
