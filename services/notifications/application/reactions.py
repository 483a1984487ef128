"""The consumer of every other service's events: keep the recipient directory current, run the
rules and the webhook subscriptions, and record what must be delivered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog

from services.notifications.adapters import repository
from services.notifications.application.deliver import deliver
from services.notifications.domain.directory import ParticipantRecord, apply_event, recipients_for
from services.notifications.domain.rules import IMMEDIATE_RULES, IncomingEvent, intents_for
from services.notifications.domain.subscriptions import subscription_intents
from services.notifications.settings import NotificationSettings
from shared.cloudevents import ReceivedEvent
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Events that change who must hear what; everything else leaves the directory untouched.
DIRECTORY_EVENTS = frozenset(
    {
        "ParticipantEnrolled",
        "SpecialistAssigned",
        "SpecialistUnassigned",
        "SupportContactConsentChanged",
        "CheckInMissed",
        "CheckInCompleted",
        "ParticipantDischarged",
        "MonitoringEnded",
    }
)


def _participant_of(received: ReceivedEvent) -> UUID | None:
    raw = received.data.get("participant_id")
    if raw is not None:
        return UUID(str(raw))
    return received.participant_id


async def react(received: ReceivedEvent, uow: UnitOfWork, cfg: NotificationSettings) -> None:
    """Handle one received event (at most once per event id: the kernel's inbox sees to that)."""
    participant_id = _participant_of(received)
    if participant_id is None:
        return
    conn = uow.conn
    now = datetime.now(UTC)
    record = await repository.load_record(conn, participant_id) or ParticipantRecord(participant_id)
    if received.event_type in DIRECTORY_EVENTS:
        record = apply_event(record, received.event_type, received.data, received.agency_id)
        await repository.save_record(conn, record, received.agency_id)
    agency_id = record.agency_id or received.agency_id
    staff = await repository.load_staff(conn, agency_id)
    incoming = IncomingEvent(
        event_id=received.event_id,
        event_type=received.event_type,
        participant_id=participant_id,
        occurred_at=received.occurred_at,
        agency_id=received.agency_id,
        payload=received.data,
    )
    intents = intents_for(incoming, recipients_for(record, staff), now)
    subscriptions = await repository.subscriptions_for(conn, received.agency_id, received.event_type)
    intents += subscription_intents(incoming, subscriptions)
    if not intents:
        if received.event_type in IMMEDIATE_RULES:
            # Nobody holds any staff role for this participant: make the silence visible.
            log.warning(
                "urgent event with nobody to tell",
                cause_event_id=str(received.event_id),
                event_type=received.event_type,
                agency_id=received.agency_id,
            )
        return
    queued = 0
    for intent in intents:
        queued += await deliver(
            uow,
            intent,
            agency_id=received.agency_id,
            cause_event_type=received.event_type,
            cause_occurred_at=received.occurred_at,
            payload=received.data,
            now=now,
            cfg=cfg,
        )
    log.info(
        "notifications decided",
        cause_event_id=str(received.event_id),
        event_type=received.event_type,
        intents=len(intents),
        queued=queued,
    )


def handler(cfg: NotificationSettings) -> Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]]:
    async def on_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
        await react(received, uow, cfg)

    return on_event
