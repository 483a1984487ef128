"""The notification aggregate: one message to one recipient on one channel, tried until sent or
given up. A failing channel only ever fails its own notification; the others go on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.vocabulary import Channel
from services.notifications.domain.webhooks import RetryPolicy, next_retry
from shared.catalogue.notifications import (
    DeliveryAttemptFailed,
    NotificationFailed,
    NotificationQueued,
    NotificationSent,
)
from shared.domain import Aggregate
from shared.events import DomainEvent

_NOTIFICATION_NAMESPACE = uuid.UUID("b1c3f0e4-2d7a-4c55-8e61-0a9f4b3e7d22")

Status = Literal["new", "pending", "sent", "failed"]


@dataclass(frozen=True)
class Notification:
    queued: NotificationQueued | None = None
    status: Status = "new"
    attempts: int = 0
    next_attempt_at: datetime | None = None


def notification_id_for(intent: NotificationIntent, channel: Channel) -> UUID:
    """Deterministic per (cause, rule, recipient, channel): redelivery finds the same stream."""
    cause, rule, recipient = intent.dedup_key
    return uuid.uuid5(_NOTIFICATION_NAMESPACE, f"{cause}|{rule}|{recipient}|{channel}")


def evolve(state: Notification, event: DomainEvent) -> Notification:
    if isinstance(event, NotificationQueued):
        return Notification(queued=event, status="pending", next_attempt_at=event.not_before)
    if isinstance(event, DeliveryAttemptFailed):
        return replace(state, attempts=event.attempt, next_attempt_at=event.retry_at)
    if isinstance(event, NotificationSent):
        return replace(state, status="sent", attempts=event.attempts, next_attempt_at=None)
    if isinstance(event, NotificationFailed):
        return replace(state, status="failed", attempts=event.attempts, next_attempt_at=None)
    return state


notification = Aggregate[Notification](stream_type="notification", initial=Notification, evolve=evolve)


def decide_queue(
    state: Notification,
    intent: NotificationIntent,
    channel: Channel,
    not_before: datetime,
    now: datetime,
    alert_id: UUID | None = None,
) -> list[DomainEvent]:
    if state.queued is not None:
        return []
    return [
        NotificationQueued(
            participant_id=intent.participant_id,
            notification_id=notification_id_for(intent, channel),
            recipient_id=intent.recipient_id,
            recipient_role=intent.recipient_role.value,
            channel=channel.value,
            rule=intent.rule.value,
            urgency=intent.urgency.value,
            cause_event_id=intent.cause_event_id,
            alert_id=alert_id,
            not_before=not_before,
            queued_at=now,
        )
    ]


def _about(q: NotificationQueued) -> dict[str, Any]:
    """What every outcome of a queued notification repeats of it: who, how, and why it was sent."""
    return {
        "participant_id": q.participant_id, "notification_id": q.notification_id, "recipient_id": q.recipient_id,
        "recipient_role": q.recipient_role, "channel": q.channel, "rule": q.rule, "cause_event_id": q.cause_event_id,
    }


def _failed(q: NotificationQueued, attempts: int, reason: str, now: datetime) -> NotificationFailed:
    return NotificationFailed(**_about(q), attempts=attempts, reason=reason[:500], failed_at=now)


def decide_attempt_outcome(
    state: Notification,
    succeeded: bool,
    reason: str,
    now: datetime,
    policy: RetryPolicy,
    random: Callable[[], float],
) -> list[DomainEvent]:
    """Record one try: sent, failed with a retry scheduled, or given up after the last try."""
    q = state.queued
    if q is None or state.status != "pending":
        return []  # a late or repeated outcome for a finished notification changes nothing
    attempt = state.attempts + 1
    if succeeded:
        return [
            NotificationSent(**_about(q), sent_at=now, urgency=q.urgency, attempts=attempt, alert_id=q.alert_id)
        ]
    retry_at = next_retry(attempt, policy, now, random)
    if retry_at is None:
        return [_failed(q, attempt, f"gave up after {attempt} tries: {reason}", now)]
    return [
        DeliveryAttemptFailed(
            participant_id=q.participant_id,
            notification_id=q.notification_id,
            attempt=attempt,
            reason=reason[:500],
            retry_at=retry_at,
            failed_at=now,
        )
    ]


def decide_undeliverable(state: Notification, reason: str, now: datetime) -> list[DomainEvent]:
    """No address, channel switched off, or otherwise impossible: fail at once, no retries."""
    q = state.queued
    if q is None or state.status != "pending":
        return []
    return [_failed(q, state.attempts, reason, now)]
