"""The consumer of every other service's events: keep the recipient directory current, run the
rules and the webhook subscriptions, and record what must be delivered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from services.notifications.adapters import repository
from services.notifications.application.deliver import deliver
from services.notifications.domain.directory import AgencyStaff, ParticipantRecord, apply_event, recipients_for
from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.rules import IMMEDIATE_RULES, IncomingEvent, intents_for
from services.notifications.domain.subscriptions import WebhookSubscription, subscription_intents
from services.notifications.settings import NotificationSettings
from shared.cloudevents import ReceivedEvent
from shared.eventstore.base import EventStore
from shared.inbox import BatchHandler
from shared.keyring import KeyRing
from shared.uow import UnitOfWork, caused_by

log = structlog.get_logger(__name__)

SERVICE = "notifications"

# Events that change who must hear what; everything else leaves the directory untouched.
DIRECTORY_EVENTS = frozenset(
    {
        "ParticipantEnrolled",
        "ParticipantTimeZoneChanged",
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


def responsible_agency(record: ParticipantRecord, received: ReceivedEvent) -> str:
    """Whose staff configuration applies: the participant's agency, else the event's. Folding the
    event in never changes it (a record takes the event's agency only when it has none)."""
    return record.agency_id or received.agency_id


@dataclass(frozen=True)
class Reaction:
    """What one event does: the participant's record after it, whether that record must be
    written (a directory event), and what must be delivered."""

    record: ParticipantRecord
    save: bool
    intents: list[NotificationIntent]


def decide(
    received: ReceivedEvent,
    record: ParticipantRecord,
    staff: AgencyStaff | None,
    subscriptions: Sequence[WebhookSubscription],
    now: datetime,
) -> Reaction:
    """Fold ``received`` into the participant's ``record`` and run the rules and ``subscriptions``
    (those of the event's agency and type) on the result; no I/O. ``staff`` is the configuration
    of :func:`responsible_agency`."""
    save = received.event_type in DIRECTORY_EVENTS
    if save:
        record = apply_event(record, received.event_type, received.data, received.agency_id)
    incoming = IncomingEvent(
        event_id=received.event_id,
        event_type=received.event_type,
        participant_id=record.participant_id,
        occurred_at=received.occurred_at,
        agency_id=received.agency_id,
        payload=received.data,
    )
    intents = intents_for(incoming, recipients_for(record, staff), now)
    intents += subscription_intents(incoming, subscriptions)
    return Reaction(record, save, intents)


async def carry_out(
    uow: Callable[[], UnitOfWork],
    received: ReceivedEvent,
    intents: Sequence[NotificationIntent],
    now: datetime,
    cfg: NotificationSettings,
    record: ParticipantRecord,
) -> None:
    """Deliver ``intents`` in a unit of work made by ``uow`` (only when there are any), or make the
    silence about an urgent event visible. ``record`` is the participant's directory record the
    intents were decided with (it gives the participant's default quiet hours)."""
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
    unit = uow()
    queued = 0
    for intent in intents:
        queued += await deliver(
            unit,
            intent,
            agency_id=received.agency_id,
            cause_event_type=received.event_type,
            cause_occurred_at=received.occurred_at,
            payload=received.data,
            now=now,
            cfg=cfg,
            participant_quiet_hours=record.enrolment_quiet_hours,
        )
    log.info(
        "notifications decided",
        cause_event_id=str(received.event_id),
        event_type=received.event_type,
        intents=len(intents),
        queued=queued,
    )


async def react(received: ReceivedEvent, uow: UnitOfWork, cfg: NotificationSettings) -> None:
    """Handle one received event (at most once per event id: the kernel's inbox sees to that).

    The consumer's fallback path; :func:`react_batch` must have exactly the same effects."""
    participant_id = _participant_of(received)
    if participant_id is None:
        return
    conn = uow.conn
    now = datetime.now(UTC)
    record = await repository.load_record(conn, participant_id) or ParticipantRecord(participant_id)
    staff = await repository.load_staff(conn, responsible_agency(record, received))
    subscriptions = await repository.subscriptions_for(conn, received.agency_id, received.event_type)
    reaction = decide(received, record, staff, subscriptions, now)
    if reaction.save:
        await repository.save_record(conn, reaction.record, received.agency_id)
    await carry_out(lambda: uow, received, reaction.intents, now, cfg, reaction.record)


async def react_batch(
    conn: asyncpg.Connection, events: Sequence[ReceivedEvent], store: EventStore, cfg: NotificationSettings,
    keys: KeyRing | None = None,
) -> None:
    """:func:`react` for a batch of events not seen before, in the caller's transaction: one query
    each for the records, staff and subscriptions involved, the events folded in order in memory,
    and one upsert at the end for the records that changed.

    Writing the directory last is safe because nothing before it reads the directory: the rules
    work on the in-memory record, and :func:`deliver` reads preferences and its own streams only.
    """
    targeted = [(e, pid) for e in events if (pid := _participant_of(e)) is not None]
    if not targeted:
        return
    stored = await repository.load_records(conn, {pid for _, pid in targeted})
    records = {pid: stored.get(pid) or ParticipantRecord(pid) for _, pid in targeted}
    agencies = {e.agency_id for e, _ in targeted} | {r.agency_id for r in stored.values() if r.agency_id}
    staff = await repository.load_staff_of(conn, agencies)
    subscriptions = await repository.subscriptions_for_pairs(conn, {(e.agency_id, e.event_type) for e, _ in targeted})
    # participant -> the agency a new row gets: that of the first event that wrote it, as in react
    written: dict[UUID, str] = {}
    for received, pid in targeted:
        now = datetime.now(UTC)
        record = records[pid]
        reaction = decide(
            received,
            record,
            staff.get(responsible_agency(record, received)),
            subscriptions.get((received.agency_id, received.event_type), ()),
            now,
        )
        if reaction.save:
            records[pid] = reaction.record
            written.setdefault(pid, received.agency_id)

        def unit(received: ReceivedEvent = received) -> UnitOfWork:
            return UnitOfWork(conn=conn, store=store, service=SERVICE, metadata=caused_by(received), keys=keys)

        await carry_out(unit, received, reaction.intents, now, cfg, reaction.record)
    await repository.save_records(
        conn,
        [(records[pid], agency) for pid, agency in written.items() if stored.get(pid) != records[pid]],
    )


def handler(cfg: NotificationSettings) -> Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]]:
    async def on_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
        await react(received, uow, cfg)

    return on_event


def batch_handler(store: EventStore, cfg: NotificationSettings, keys: KeyRing | None = None) -> BatchHandler:
    """The consumer's batch path (``ConsumerSpec.batch_handler``); ``store`` is the service's
    event store, the one the kernel gives the per-event path's unit of work; ``keys`` opens
    participants' sealed addresses."""

    async def on_batch(conn: asyncpg.Connection, events: list[ReceivedEvent]) -> None:
        await react_batch(conn, events, store, cfg, keys)

    return on_batch
