"""Events published by the notifications service on ``waypoint.notifications.v1``.

Deliveries and alerts only: no addresses, subjects or message bodies travel here. Recipients are
named by opaque ids (a staff user's ``sub``, a participant id, a support-contact id, an agency id
or a webhook subscription id); the addresses behind them live in notifications' own database.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.events import DomainEvent, event


@event("notifications")
class NotificationQueued(DomainEvent):
    """A rule decided that a recipient must hear about a cause, on one channel."""

    participant_id: UUID
    notification_id: UUID
    recipient_id: str
    recipient_role: str
    channel: str
    rule: str
    urgency: str
    cause_event_id: UUID
    alert_id: UUID | None = None
    not_before: datetime
    queued_at: datetime


@event("notifications")
class DeliveryAttemptFailed(DomainEvent):
    """One try failed; another try is scheduled at ``retry_at``."""

    participant_id: UUID
    notification_id: UUID
    attempt: int
    reason: str
    retry_at: datetime
    failed_at: datetime


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
    urgency: str = "routine"
    attempts: int = 1
    alert_id: UUID | None = None


@event("notifications")
class NotificationFailed(DomainEvent):
    """The channel gave up after its last permitted try (or the recipient has no address)."""

    participant_id: UUID
    notification_id: UUID
    recipient_id: str
    recipient_role: str
    channel: str
    rule: str
    cause_event_id: UUID
    attempts: int
    reason: str
    failed_at: datetime


@event("notifications")
class AlertRaised(DomainEvent):
    """A staff member must acknowledge something; urgent ones escalate when nobody does."""

    alert_id: UUID
    participant_id: UUID
    recipient_id: str
    recipient_role: str
    rule: str
    urgency: str
    cause_event_id: UUID
    raised_at: datetime
    acknowledge_by: datetime | None = None


@event("notifications")
class AlertAcknowledged(DomainEvent):
    alert_id: UUID
    participant_id: UUID
    acknowledged_by: str
    acknowledged_at: datetime


@event("notifications")
class AlertEscalated(DomainEvent):
    """Nobody acknowledged in time: the alert moved one level up the ladder."""

    alert_id: UUID
    participant_id: UUID
    from_recipient_id: str
    from_role: str
    to_recipient_id: str
    to_role: str
    escalated_at: datetime
    acknowledge_by: datetime | None = None
