"""The four services (real PostgreSQL, real Kafka) for the erasure tests, for this package only."""

import sys
from pathlib import Path

from shared.testing.services import package_service

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # --import-mode=importlib puts no test folder on the path
    sys.path.insert(0, _HERE)


er_intake = package_service("intake")
er_planning = package_service("planning")
er_monitoring = package_service("monitoring")
er_notifications = package_service("notifications")
