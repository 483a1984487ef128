"""The published language: every event Waypoint emits, one module per owning service.

Importing this package registers all event types, so any service can decode any topic.
"""

from shared.catalogue import intake, monitoring, notifications, planning

__all__ = ["intake", "monitoring", "notifications", "planning"]
