"""Notifications' streams: the kernel's stream repository for alerts and for notifications
(one per recipient and channel)."""

from __future__ import annotations

from uuid import UUID

from services.notifications.domain.alerts import Alert, alert
from services.notifications.domain.deliveries import Notification, notification
from shared.streams import StreamRepository

alerts: StreamRepository[UUID, Alert] = StreamRepository(alert, lambda alert_id: f"alert-{alert_id}")
notifications: StreamRepository[UUID, Notification] = StreamRepository(
    notification, lambda notification_id: f"notification-{notification_id}"
)
