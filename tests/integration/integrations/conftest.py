import sys
from pathlib import Path

from shared.testing.services import package_service

_INTAKE_HELPERS = str(Path(__file__).resolve().parents[1] / "intake")
if _INTAKE_HELPERS not in sys.path:  # intake's Agency helper, under pytest's importlib import mode
    sys.path.insert(0, _INTAKE_HELPERS)


intake_service = package_service("intake")
