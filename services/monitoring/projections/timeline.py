"""The participant timeline: every event of every service about a person, in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.domain.timeline import describe
from shared.cloudevents import ReceivedEvent
from shared.limits import MAX_BIGINT


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


def cursor_of(occurred_at: datetime, seq: int) -> str:
    """An opaque keyset cursor: the entry's time and its arrival number (ties broken by arrival)."""
    return f"{occurred_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}~{seq}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, seq) of a cursor made by :func:`cursor_of`; ValueError if malformed."""
    moment, _, seq = cursor.partition("~")
    number = int(seq)
    if not 0 <= number <= MAX_BIGINT:  # beyond a BIGINT it could only fail in the query, as a 500
        raise ValueError(f"cursor position out of range: {seq}")
    return datetime.strptime(moment, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC), number


async def page(
    conn: asyncpg.Pool,
    participant_id: UUID,
    agency_id: str,
    *,
    after: str | None = None,
    limit: int = 100,
    services: Sequence[str] | None = None,
    event_types: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One page of a participant's timeline in the order things happened.

    Events of different services arrive over different topics, so arrival order at monitoring
    can put an effect before its cause (a plan before the assessment it was drafted from); the
    time each event occurred cannot. ``after`` is the ``cursor`` of the last entry already seen;
    ``services`` / ``event_types`` keep only the entries of those services / event types.
    """
    since, since_seq = parse_cursor(after) if after else (datetime.min.replace(tzinfo=UTC), 0)
    rows = await conn.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, summary, data::text AS data FROM timeline"
        " WHERE participant_id = $1 AND agency_id = $2 AND (occurred_at, seq) > ($3, $4)"
        " AND ($6::text[] IS NULL OR source = ANY($6)) AND ($7::text[] IS NULL OR event_type = ANY($7))"
        " ORDER BY occurred_at, seq LIMIT $5",
        participant_id,
        agency_id,
        since,
        since_seq,
        limit,
        list(services) if services else None,
        list(event_types) if event_types else None,
    )
    return [
        {
            "cursor": cursor_of(r["occurred_at"], r["seq"]),
            "position": r["seq"],
            "event_id": str(r["event_id"]),
            "type": r["event_type"],
            "service": r["source"],
            "occurred_at": r["occurred_at"].isoformat(),
            "summary": r["summary"],
            "data": orjson.loads(r["data"]),
        }
        for r in rows
    ]
