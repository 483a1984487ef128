"""The event feed's store: a consumer of all four service topics writes every published event,
in CloudEvents structured form, with a position that the HTTP feed uses as its cursor.

Why positions can serve as a cursor: a reader that has seen position N must never later find a
new row below N. Identity values are taken at insert time, so two writer transactions could
commit out of order. Every writer batch therefore takes one transaction-level advisory lock
first: writers run one at a time, and positions become visible in increasing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from shared import access_audit
from shared.catalogue_export import structured
from shared.cloudevents import CLASSIFICATION, REGULATION, SPEC_VERSION, ReceivedEvent
from shared.uow import UnitOfWork

#: pg_advisory_xact_lock key of the feed's writers ("feed" in ASCII).
WRITER_LOCK = 0x66656564
PAGE_MAX = 500

INSERT = """
INSERT INTO event_feed (event_id, agency_id, ce_type, participant_id, cloudevent)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[])
ON CONFLICT (event_id) DO NOTHING
"""

PAGE = """
SELECT position, participant_id, cloudevent::text AS cloudevent FROM event_feed
WHERE agency_id = $1 AND position > $2 AND (cardinality($3::text[]) = 0 OR ce_type = ANY($3::text[]))
ORDER BY position LIMIT $4
"""


def cloudevent_of(received: ReceivedEvent) -> dict[str, Any]:
    """The structured-mode CloudEvent of a received record (data exactly as published)."""
    headers = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": str(received.event_id),
        "ce_source": f"/waypoint/{received.service}",
        "ce_type": received.ce_type,
        "ce_time": received.occurred_at.isoformat(),
        "content-type": "application/json",
        "ce_agencyid": received.agency_id,
        "ce_correlationid": received.correlation_id,
        "ce_dataclassification": CLASSIFICATION,
        "ce_dataregulation": REGULATION,
    }
    if received.participant_id is not None:
        headers["ce_subject"] = str(received.participant_id)
    if received.causation_id:
        headers["ce_causationid"] = received.causation_id
    return structured(headers, received.data)


async def store(conn: asyncpg.Connection, batch: Sequence[ReceivedEvent]) -> None:
    """Append a batch to the feed (serialized with the other writers; a repeat changes nothing)."""
    if not batch:
        return
    await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITER_LOCK)
    await conn.execute(
        INSERT,
        [r.event_id for r in batch],
        [r.agency_id for r in batch],
        [r.ce_type for r in batch],
        [r.participant_id for r in batch],
        [orjson.dumps(cloudevent_of(r)).decode() for r in batch],
    )


async def store_one(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Record-by-record path of the consumer (isolating a bad record in a batch)."""
    await store(uow.conn, [received])


async def page(pool: asyncpg.Pool, agency_id: str, actor: str, after: int, types: Sequence[str],
               limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` events of ``agency_id`` after position ``after`` (JSON text, in order).

    Serving them is an export of those participants' records: one access-log row per participant
    in the page, in the same transaction as the read.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(PAGE, agency_id, after, list(types), min(limit, PAGE_MAX))
        people = list(dict.fromkeys(row["participant_id"] for row in rows))
        await access_audit.record(conn, agency_id=agency_id, actor=actor, action="event feed",
                                  participant_ids=people)
    return [(row["position"], row["cloudevent"]) for row in rows]
