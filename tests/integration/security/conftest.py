"""The four services (real PostgreSQL, real Kafka) shared by the security tests, for this package only."""

import pytest

from shared.testing.services import RunningService, package_service

sec_intake = package_service("intake")
sec_planning = package_service("planning")
sec_monitoring = package_service("monitoring")
sec_notifications = package_service("notifications")


@pytest.fixture
def security_services(sec_intake: RunningService, sec_planning: RunningService, sec_monitoring: RunningService,
                      sec_notifications: RunningService) -> dict[str, RunningService]:
    """The four services by fixture name, all set up before the test runs (a package-scoped async
    fixture cannot be started with ``request.getfixturevalue`` from inside a running test)."""
    return {"sec_intake": sec_intake, "sec_planning": sec_planning, "sec_monitoring": sec_monitoring,
            "sec_notifications": sec_notifications}
