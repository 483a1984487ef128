"""The four services (real PostgreSQL, real Kafka) for the erasure tests, for this package only."""

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from shared.testing.services import RunningService, running_service

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # --import-mode=importlib puts no test folder on the path
    sys.path.insert(0, _HERE)


def _service(name: str) -> Callable[..., Any]:
    @pytest.fixture(scope="package")
    async def service(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
        async with running_service(name, kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                                   relay_poll_interval_s=0.1) as running:
            yield running

    return service


er_intake = _service("intake")
er_planning = _service("planning")
er_monitoring = _service("monitoring")
er_notifications = _service("notifications")
