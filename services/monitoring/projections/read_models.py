"""The all-topics consumer: timeline, caseload and overview, applied a whole batch at a time.

The kernel's consumer runs the handler once per record, each in a savepoint with its own inbox
row: five or six round trips per event. At hundreds of check-ins per second that is what made the
timeline lag, so this consumer keeps the kernel's run loop, offsets, retries and dead-lettering
and replaces only the processing of a batch: one inbox insert for the whole batch (returning the
ids not seen before), one timeline insert, one upsert per participant with the batch's merged
caseload columns, one upsert per daily count. If a batch fails for a reason that is not
transient, it falls back to the kernel's record-by-record processing, which isolates the bad
record and dead-letters it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord

from services.monitoring.projections import caseload, overview, timeline
from shared import cloudevents
from shared.cloudevents import PoisonRecord, ReceivedEvent
from shared.inbox import TRANSIENT, EventConsumer
from shared.uow import UnitOfWork

CONSUMER = "read-models"


async def apply(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """One event (the kernel's per-record path, used for rebuilds and to isolate a bad record)."""
    await timeline.apply(received, uow.conn)
    await caseload.apply(received, uow.conn)
    await overview.apply(received, uow.conn)


async def apply_batch(conn: asyncpg.Connection, consumer: str, events: list[ReceivedEvent]) -> int:
    """Apply the events not yet in ``consumer``'s inbox; returns how many were new."""
    if not events:
        return 0
    new_ids = {
        r["event_id"]
        for r in await conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
            " RETURNING event_id",
            consumer,
            [e.event_id for e in events],
        )
    }
    fresh: list[ReceivedEvent] = []
    for e in events:
        if e.event_id in new_ids:
            new_ids.discard(e.event_id)  # a record delivered twice in one batch counts once
            fresh.append(e)
    await timeline.apply_many(fresh, conn)
    merged: dict[UUID, tuple[str, dict[str, Any]]] = {}
    alerts: list[ReceivedEvent] = []
    counts: Counter[tuple[str, date, str]] = Counter()
    for e in fresh:
        if (key := overview.count_key(e)) is not None:
            counts[key] += 1
        if e.participant_id is None:
            continue
        columns = caseload.changes(e)
        if columns is not None:
            agency, so_far = merged.get(e.participant_id, (e.agency_id, {}))
            merged[e.participant_id] = (agency, {**so_far, **columns})
        elif e.event_type in caseload.ALERT_EVENTS:
            alerts.append(e)
    await caseload.upsert_many(conn, [(pid, agency, cols) for pid, (agency, cols) in merged.items()])
    for e in alerts:
        await caseload.apply_alert(e, conn)
    await overview.add_counts(conn, dict(counts))
    return len(fresh)


class ReadModelConsumer(EventConsumer):
    """The kernel's consumer with batch processing of the read models."""

    async def _process(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, str]]:
        dead: list[tuple[ConsumerRecord, str]] = []
        events: list[ReceivedEvent] = []
        for record in records:
            try:
                events.append(
                    cloudevents.decode(record.topic, record.partition, record.offset, record.value, record.headers)
                )
            except PoisonRecord as exc:
                dead.append((record, str(exc)))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await apply_batch(conn, self.group_id, events)
        except TRANSIENT:
            raise
        except Exception:
            return await super()._process(records)  # record by record: finds and dead-letters the culprit
        return dead
