"""Events published by the notifications service on ``waypoint.notifications.v1``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.events import DomainEvent, event


@event("notifications")
class NotificationSent(DomainEvent):
    participant_id: UUID
    notification_id: UUID
    recipient_id: str
    recipient_role: str
    channel: str
    rule: str
    cause_event_id: UUID
    sent_at: datetime
