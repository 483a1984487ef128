"""One planning service (real PostgreSQL, real Kafka) shared by planning's integration tests."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.testing.services import RunningService, running_service

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # --import-mode=importlib puts no test folder on the path
    sys.path.insert(0, _HERE)


# Package scope: stopped after the planning tests, so that it is no longer a member of planning's
# consumer groups (sharing their partitions) when later suites start a planning of their own.
@pytest.fixture(scope="package")
async def planning(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
    async with running_service(
        "planning", kafka_bootstrap=kafka_bootstrap, database_url=database_url, relay_poll_interval_s=0.1
    ) as service:
        yield service
