import sys
from pathlib import Path

import pytest

from shared.testing.services import running_service

_INTAKE_HELPERS = str(Path(__file__).resolve().parents[1] / "intake")
if _INTAKE_HELPERS not in sys.path:  # intake's Agency helper, under pytest's importlib import mode
    sys.path.insert(0, _INTAKE_HELPERS)


@pytest.fixture(scope="package")  # not session: a service left running stays in its consumer groups
async def intake_service(kafka_bootstrap, database_url):
    async with running_service(
        "intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url, relay_poll_interval_s=0.1
    ) as service:
        yield service
