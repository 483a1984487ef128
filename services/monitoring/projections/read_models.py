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


async def apply(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """One event (the kernel's per-record path, used for rebuilds and to isolate a bad record)."""
    await timeline.apply(received, uow.conn)
    await caseload.apply(received, uow.conn)
    await overview.apply(received, uow.conn)


async def apply_fresh(conn: asyncpg.Connection, fresh: list[ReceivedEvent]) -> None:
    """A whole batch of events not seen before (the kernel's inbox already filtered them).

    Several writers run this at once (check-in batches, sweeps, the consumers), and it writes
    caseload rows in several statements (one upsert per column set, then alert counts). So that
    two batches sharing participants cannot lock them in different orders, it first locks every
    existing caseload row it will write, in participant order, in one statement; the statements
    after it then only wait for rows nobody had yet.
    """
    if not fresh:
        return
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
    await caseload.lock_rows(conn, [*merged, *(e.participant_id for e in alerts if e.participant_id)])
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
