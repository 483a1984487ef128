"""One intake service (real PostgreSQL, real Kafka) shared by intake's integration tests."""

import sys
from pathlib import Path

import pytest

from shared.testing.services import running_service

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # --import-mode=importlib puts no test folder on the path
    sys.path.insert(0, _HERE)


@pytest.fixture(scope="package")  # not session: a service left running stays in its consumer groups
async def intake(kafka_bootstrap, database_url):
    async with running_service(
        "intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url, relay_poll_interval_s=0.1
    ) as service:
        yield service
