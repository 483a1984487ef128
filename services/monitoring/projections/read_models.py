"""The all-topics consumer: timeline, caseload and overview, applied a whole batch at a time.

Per record, the kernel's consumer costs a savepoint and an inbox row: five or six round trips per
event. At hundreds of check-ins per second that made the timeline lag, so this consumer gives the
kernel a batch handler (``apply_fresh``): one timeline insert for the batch, one upsert per
participant with the batch's merged caseload columns, one upsert per daily count. The kernel
filters redeliveries with one inbox insert per batch and, if a batch fails for a reason that is
not transient, falls back to ``apply`` record by record to isolate and dead-letter the bad one.

Monitoring's own events are projected inline (``project_written``), in the transaction that
writes them: a check-in is in the timeline and the caseload the moment it commits, before the
API answers. The same transaction records their ids in this consumer's inbox, so when they come
back over Kafka the consumer skips them without decoding them. A rebuild still replays every
topic, monitoring's included, through the same functions; while it runs, inline projection
stands aside (``REBUILD_LOCK``) and the consumer catches up afterwards.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.monitoring.projections import caseload, overview, timeline
from shared.cloudevents import ReceivedEvent, as_received
from shared.envelope import NewEvent, StoredEvent
from shared.uow import UnitOfWork

CONSUMER = "read-models"
#: The consumer group (and inbox key) of the read-model consumer, as the kernel names it.
GROUP_ID = f"waypoint.monitoring.{CONSUMER}"
#: Held (exclusive, for its transaction) by a rebuild; inline projection takes it shared.
REBUILD_LOCK = zlib.crc32(b"waypoint-monitoring-read-model-rebuild")
#: First key of the per-agency transaction locks of the read-model writers (second: the agency's hash).
AGENCY_LOCK_SPACE = zlib.crc32(b"waypoint-monitoring-read-models-agency") & 0x7FFFFFFF


async def apply(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """One event (the kernel's per-record path, used for rebuilds and to isolate a bad record)."""
    await timeline.apply(received, uow.conn)
    await caseload.apply(received, uow.conn)
    await overview.apply(received, uow.conn)


async def apply_fresh(conn: asyncpg.Connection, fresh: list[ReceivedEvent], *, lock_agencies: bool = True) -> None:
    """A whole batch of events not seen before (the kernel's inbox already filtered them).

    It first takes a transaction lock per agency of the batch, in sorted order. Every row it
    writes (caseload, open alerts, daily counts) belongs to one of those agencies, and it writes
    them in several statements (a caseload upsert per column set, then alerts, then counts), so
    two batches sharing participants could otherwise lock them in different orders and deadlock.
    Writers of the same agency wait for each other here instead; they already did at the
    agency's daily counts, just before committing. A rebuild, which holds the tables
    exclusively, passes ``lock_agencies=False``.
    """
    if not fresh:
        return
    if lock_agencies:
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(a)) FROM unnest($2::text[]) AS a ORDER BY a",
            AGENCY_LOCK_SPACE,
            sorted({e.agency_id for e in fresh}),
        )
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


async def project_written(conn: asyncpg.Connection, written: Sequence[NewEvent | StoredEvent]) -> None:
    """Project monitoring's own just-written events in the writer's transaction (see above).

    Only what is published is projected, exactly as the consumer would receive it.
    """
    received = [as_received(e, "monitoring") for e in written if not type(e.event).private]
    if not received:
        return
    # While a rebuild holds REBUILD_LOCK the shared lock is refused: nothing is recorded or
    # projected here, and the consumer projects these events from Kafka once the rebuild is done
    # (instead of check-ins waiting for the rebuild's table locks).
    fresh = {
        r["event_id"]
        for r in await conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
            " WHERE pg_try_advisory_xact_lock_shared($3) ON CONFLICT DO NOTHING RETURNING event_id",
            GROUP_ID,
            [e.event_id for e in received],
            REBUILD_LOCK,
        )
    }
    await apply_fresh(conn, [e for e in received if e.event_id in fresh])
