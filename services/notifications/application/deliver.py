"""Turn one notification intent into an alert (for staff) and one queued notification per channel,
inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from services.notifications.adapters import repository
from services.notifications.adapters.streams import alerts, notifications
from services.notifications.domain.alerts import alert_id_for, decide_raise
from services.notifications.domain.deliveries import (
    Notification,
    decide_attempt_outcome,
    decide_queue,
    notification_id_for,
)
from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.messages import REFERRAL_FIELDS, allowed_details, link_for, render_email
from services.notifications.domain.preferences import PlannedDelivery, plan_deliveries
from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.vocabulary import Channel, Rule
from services.notifications.settings import NotificationSettings
from shared.events import DomainEvent
from shared.uow import UnitOfWork

WAKE_CHANNEL = "notifications_dispatch"


def stored_details(intent: NotificationIntent, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What of the cause's payload is kept for rendering: the allowlist, plus a referral's consent
    reference and notice. Never the whole payload."""
    details = allowed_details(payload, entitled=True)
    if intent.rule is Rule.REFERRAL_WEBHOOK:
        details.update({k: str(payload[k]) for k in REFERRAL_FIELDS if k in payload})
    return details


async def deliver(
    uow: UnitOfWork,
    intent: NotificationIntent,
    *,
    agency_id: str,
    cause_event_type: str,
    cause_occurred_at: datetime,
    payload: Mapping[str, Any],
    now: datetime,
    cfg: NotificationSettings,
    existing_alert_id: UUID | None = None,
    participant_quiet_hours: QuietHours | None = None,
) -> int:
    """Record what ``intent`` needs; returns how many email/webhook deliveries were queued.

    A redelivered cause finds its alert and notification streams already written (their ids are
    derived from the dedup key) and changes nothing.

    It reads preferences and its own streams, never the recipient directory: the consumer's batch
    path writes the directory only after the whole batch (``reactions.react_batch``). Reading the
    directory here would need that path to write it first. What it needs of the directory, the
    participant's default quiet hours (from their enrolment), the caller passes as
    ``participant_quiet_hours``, taken from the record it decided with.
    """
    alert_id = existing_alert_id
    if intent.is_alert and alert_id is None:
        alert_id = await _raise_alert(uow, intent, agency_id, now, cfg)
    preferences = await repository.load_preferences(uow.conn, agency_id, intent.recipient_id, uow.keys)
    cause = Cause(cause_event_type, cause_occurred_at, payload)
    queued = 0
    for planned in plan_deliveries(intent, preferences, now, participant_quiet_hours):
        notification_id = notification_id_for(intent, planned.channel)
        def queue(state: Notification, p: PlannedDelivery = planned) -> list[DomainEvent]:
            return decide_queue(state, intent, p.channel, p.not_before, now, alert_id)

        new = await notifications.execute(
            uow, notification_id, queue, agency_id=agency_id, participant_id=intent.participant_id
        )
        if not new.stored:
            continue
        if planned.channel is Channel.IN_APP:
            await _into_inbox(uow, notification_id, intent, agency_id, alert_id, now, cfg)
        else:
            await _into_delivery_queue(uow, notification_id, intent, planned, agency_id, alert_id, cause, now)
            queued += 1
    if queued:
        # Delivered to listeners only when this transaction commits: wakes the dispatcher at once.
        await uow.conn.execute(f"NOTIFY {WAKE_CHANNEL}")
    return queued


@dataclass(frozen=True)
class Cause:
    """The event a notification is about, as the delivery queue keeps it."""

    event_type: str
    occurred_at: datetime
    payload: Mapping[str, Any]


async def _raise_alert(
    uow: UnitOfWork, intent: NotificationIntent, agency_id: str, now: datetime, cfg: NotificationSettings
) -> UUID:
    alert_id = alert_id_for(intent)
    raised = await alerts.execute(
        uow,
        alert_id,
        lambda s: decide_raise(s, intent, now, cfg.ack_timeout),
        agency_id=agency_id,
        participant_id=intent.participant_id,
    )
    if raised.stored:
        await repository.upsert_alert(uow.conn, raised.state, agency_id, uow.metadata.correlation_id, now)
    return alert_id


async def _into_inbox(
    uow: UnitOfWork,
    notification_id: UUID,
    intent: NotificationIntent,
    agency_id: str,
    alert_id: UUID | None,
    now: datetime,
    cfg: NotificationSettings,
) -> None:
    """An in-app notification is delivered at once: a row in the recipient's inbox."""
    message = render_email(intent, cfg.base_url, alert_id=alert_id)
    await uow.conn.execute(
        "INSERT INTO staff_inbox (notification_id, agency_id, participant_id, recipient_id, recipient_role,"
        " rule, urgency, alert_id, cause_event_id, subject, link, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        notification_id,
        agency_id,
        intent.participant_id,
        intent.recipient_id,
        intent.recipient_role.value,
        intent.rule.value,
        intent.urgency.value,
        alert_id,
        intent.cause_event_id,
        message.subject,
        link_for(intent, cfg.base_url, alert_id),
        now,
    )
    await notifications.execute(
        uow,
        notification_id,
        lambda s: decide_attempt_outcome(s, True, "inbox", now, cfg.retry_policy, lambda: 0.0),
        agency_id=agency_id,
        participant_id=intent.participant_id,
    )


async def _into_delivery_queue(
    uow: UnitOfWork,
    notification_id: UUID,
    intent: NotificationIntent,
    planned: PlannedDelivery,
    agency_id: str,
    alert_id: UUID | None,
    cause: Cause,
    now: datetime,
) -> None:
    """An email or webhook waits in the delivery queue for the dispatcher (from ``not_before``)."""
    await uow.conn.execute(
        "INSERT INTO deliveries (notification_id, agency_id, participant_id, recipient_id, recipient_role,"
        " channel, rule, urgency, cause_event_id, cause_event_type, cause_occurred_at, alert_id, details,"
        " correlation_id, due_at, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16)"
        " ON CONFLICT DO NOTHING",
        notification_id,
        agency_id,
        intent.participant_id,
        intent.recipient_id,
        intent.recipient_role.value,
        planned.channel.value,
        intent.rule.value,
        intent.urgency.value,
        intent.cause_event_id,
        cause.event_type,
        cause.occurred_at,
        alert_id,
        orjson.dumps(stored_details(intent, cause.payload)).decode(),
        uow.metadata.correlation_id,
        planned.not_before,
        now,
    )
