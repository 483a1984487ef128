"""The participant timeline: every event of every service about a person, in order."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from services.monitoring.domain.timeline import describe
from shared.cloudevents import ReceivedEvent


def summarize(event_type: str, data: dict[str, Any]) -> str:
    """The human-readable line of an event (see ``services.monitoring.domain.timeline``)."""
    return describe(event_type, data)


async def apply(received: ReceivedEvent, conn: asyncpg.Connection) -> None:
    """One timeline row per event about a participant (a replayed event is ignored)."""
    if received.participant_id is None:
        return
    await conn.execute(
        "INSERT INTO timeline (participant_id, agency_id, event_id, event_type, source, occurred_at, summary, data)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (event_id) DO NOTHING",
        received.participant_id,
        received.agency_id,
        received.event_id,
        received.event_type,
        received.service,
        received.occurred_at,
        summarize(received.event_type, received.data),
        orjson.dumps(received.data).decode(),
    )


_INSERT_MANY = """
INSERT INTO timeline (participant_id, agency_id, event_id, event_type, source, occurred_at, summary, data)
SELECT p, a, e, t, s, o, m, d::jsonb
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[])
     WITH ORDINALITY AS x(p, a, e, t, s, o, m, d, n)
ORDER BY n
ON CONFLICT (event_id) DO NOTHING
"""


async def apply_many(events: list[ReceivedEvent], conn: asyncpg.Connection) -> None:
    """The timeline rows of a batch in one statement, in the batch's order."""
    about = [e for e in events if e.participant_id is not None]
    if not about:
        return
    await conn.execute(
        _INSERT_MANY,
        [e.participant_id for e in about],
        [e.agency_id for e in about],
        [e.event_id for e in about],
        [e.event_type for e in about],
        [e.service for e in about],
        [e.occurred_at for e in about],
        [summarize(e.event_type, e.data) for e in about],
        [orjson.dumps(e.data).decode() for e in about],
    )
