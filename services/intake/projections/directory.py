"""The participant directory columns that follow from events: specialist, queue, status, risk.

Applied inline, in the transaction that appends the events, so reads never lag commands. The
identifying columns beside them are written by the command handlers and are not derivable.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import orjson

from shared.catalogue.intake import (
    AssessmentCompleted,
    ParticipantDischarged,
    ParticipantTimeZoneChanged,
    SpecialistAssigned,
    SpecialistUnassigned,
    SupportContactConsentChanged,
)
from shared.envelope import NewEvent, StoredEvent


async def apply(conn: asyncpg.Connection, stored_events: Iterable[NewEvent | StoredEvent]) -> None:
    for stored in stored_events:
        e = stored.event
        if isinstance(e, SpecialistAssigned):
            await conn.execute(
                "UPDATE participants SET specialist_id = $2, waiting_since = NULL WHERE participant_id = $1",
                e.participant_id,
                e.specialist_id,
            )
        elif isinstance(e, SpecialistUnassigned):
            await conn.execute(
                "UPDATE participants SET specialist_id = NULL, waiting_since = $2 WHERE participant_id = $1",
                e.participant_id,
                e.unassigned_at,
            )
        elif isinstance(e, ParticipantDischarged):
            await conn.execute(
                "UPDATE participants SET status = 'discharged', discharged_at = $2, discharge_reason = $3,"
                " waiting_since = NULL WHERE participant_id = $1",
                e.participant_id,
                e.discharged_at,
                e.reason.value,
            )
        elif isinstance(e, AssessmentCompleted):
            await conn.execute(
                "UPDATE participants SET risk_level = $2, risk_reasons = $3::jsonb WHERE participant_id = $1",
                e.participant_id,
                e.risk_level,
                orjson.dumps(list(e.risk_reasons)).decode(),
            )
        elif isinstance(e, ParticipantTimeZoneChanged):
            await conn.execute(
                "UPDATE participants SET time_zone = $2 WHERE participant_id = $1", e.participant_id, e.time_zone
            )
        elif isinstance(e, SupportContactConsentChanged):
            await conn.execute(
                "UPDATE support_contacts SET consent_to_contact = $3"
                " WHERE participant_id = $1 AND support_contact_id = $2",
                e.participant_id,
                e.support_contact_id,
                e.consent_to_contact,
            )
