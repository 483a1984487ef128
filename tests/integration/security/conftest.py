"""The four services (real PostgreSQL, real Kafka) shared by the security tests."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from shared.testing.services import RunningService, running_service


def _service(name: str) -> Callable[..., Any]:
    """A fixture running ``name`` for the security package only: once it ends the service leaves its
    consumer groups, so it takes no partitions from services other suites start later."""

    @pytest.fixture(scope="package")
    async def service(kafka_bootstrap: str, database_url: str) -> AsyncIterator[RunningService]:
        async with running_service(name, kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                                   relay_poll_interval_s=0.1) as running:
            yield running

    return service


sec_intake = _service("intake")
sec_planning = _service("planning")
sec_monitoring = _service("monitoring")
sec_notifications = _service("notifications")


@pytest.fixture
def security_services(sec_intake: RunningService, sec_planning: RunningService, sec_monitoring: RunningService,
                      sec_notifications: RunningService) -> dict[str, RunningService]:
    """The four services by fixture name, all set up before the test runs (a package-scoped async
    fixture cannot be started with ``request.getfixturevalue`` from inside a running test)."""
    return {"sec_intake": sec_intake, "sec_planning": sec_planning, "sec_monitoring": sec_monitoring,
            "sec_notifications": sec_notifications}
