"""Builders shared by notifications' unit tests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.notifications.domain.directory import (
    AgencyStaff,
    ParticipantRecord,
    Recipients,
    SupportContact,
    apply_event,
    recipients_for,
)
from services.notifications.domain.rules import IncomingEvent, NotificationIntent, intents_for

PARTICIPANT = UUID("00000000-0000-0000-0000-0000000000aa")
AGENCY = "agency-1"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAFF = AgencyStaff(AGENCY, supervisor_id="sup-1", agency_admin_id="admin-1")


def incoming(event_type: str, event_id: UUID | None = None, **payload: Any) -> IncomingEvent:
    return IncomingEvent(
        event_id=event_id or uuid.uuid4(),
        event_type=event_type,
        participant_id=PARTICIPANT,
        occurred_at=NOW,
        agency_id=AGENCY,
        payload={"participant_id": str(PARTICIPANT), **payload},
    )


def run(events: list[IncomingEvent], staff: AgencyStaff | None = STAFF) -> list[NotificationIntent]:
    """Fold a sequence through the directory and collect every intent, as the consumer would."""
    record = ParticipantRecord(PARTICIPANT)
    out: list[NotificationIntent] = []
    for e in events:
        record = apply_event(record, e.event_type, e.payload, e.agency_id)
        out += intents_for(e, recipients_for(record, staff), NOW)
    return out


def summary(intents: list[NotificationIntent]) -> list[tuple[str, str, str, str]]:
    return [(i.rule.value, i.recipient_role.value, i.recipient_id, i.urgency.value) for i in intents]


FULL = Recipients(PARTICIPANT, specialist_id="spec-1", supervisor_id="sup-1", agency_admin_id="admin-1")
NO_SPECIALIST = Recipients(PARTICIPANT, supervisor_id="sup-1", agency_admin_id="admin-1")
NOBODY = Recipients(PARTICIPANT)


def with_misses(n: int, base: Recipients = FULL, **kw: object) -> Recipients:
    return replace(base, consecutive_misses=n, **kw)  # type: ignore[arg-type]


CONTACTS = (SupportContact("sc-yes", True), SupportContact("sc-no", False))
