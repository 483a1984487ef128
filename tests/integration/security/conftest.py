"""The four services (real PostgreSQL, real Kafka) shared by the security tests."""

from collections.abc import AsyncIterator

import pytest

from shared.testing.services import RunningService, running_service


async def _service(name: str, kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async with running_service(name, kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1) as service:
        yield service


@pytest.fixture(scope="session")
async def sec_intake(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async for s in _service("intake", kafka_bootstrap, database_url):
        yield s


@pytest.fixture(scope="session")
async def sec_planning(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async for s in _service("planning", kafka_bootstrap, database_url):
        yield s


@pytest.fixture(scope="session")
async def sec_monitoring(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async for s in _service("monitoring", kafka_bootstrap, database_url):
        yield s


@pytest.fixture(scope="session")
async def sec_notifications(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async for s in _service("notifications", kafka_bootstrap, database_url):
        yield s
