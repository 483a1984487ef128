"""One intake service (real PostgreSQL, real Kafka) shared by intake's integration tests."""

import sys
from pathlib import Path

from shared.testing.services import package_service

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # --import-mode=importlib puts no test folder on the path
    sys.path.insert(0, _HERE)


intake = package_service("intake")
