"""Events published by the monitoring service on ``waypoint.monitoring.v1``."""

from __future__ import annotations

from shared.events import DomainEvent, event  # noqa: F401  (events are added by the monitoring slice)
