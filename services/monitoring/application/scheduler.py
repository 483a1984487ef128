"""The schedulers: missed check-ins and milestones, claimed in batches with SKIP LOCKED.

A sweep is one transaction: claim up to ``batch_size`` due rows (oldest first) with
``FOR UPDATE SKIP LOCKED``, read their streams in one query, decide for each, append every new
event in one statement (with the outbox), move each row's due time on, commit. Rows another
replica or a command holds are skipped, never waited for, so any number of replicas and workers
can sweep side by side; each window is recorded once because the stream moves past it in the
same transaction that releases the row. Windows that passed while no scheduler ran are simply
due rows: the first sweep after a restart records them all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from services.monitoring.adapters.streams import monitors
from services.monitoring.adapters.tables import PostgresTables
from services.monitoring.domain.commands import CheckMilestones, DetectMissedCheckIns
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.participant_monitor import decide_check_milestones, decide_detect_missed_check_ins
from shared.envelope import Metadata
from shared.events import DomainEvent
from shared.eventstore.base import ConcurrencyError
from shared.eventstore.postgres import PostgresEventStore
from shared.streams import Decision
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
SWEPT = Counter("waypoint_monitoring_swept_rows_total", "Due rows handled by a sweep", ["sweep"])
EMITTED = Counter("waypoint_monitoring_sweep_events_total", "Events appended by sweeps", ["sweep"])
SWEEP_SECONDS = Histogram("waypoint_monitoring_sweep_seconds", "Duration of one sweep batch", ["sweep"])


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SweepKind:
    name: str
    claim_sql: str
    decide: Callable[[MonitorState, Any, datetime], list[DomainEvent]]
    command: Callable[[Any], Any]


MISSED_CHECK_INS = SweepKind(
    name="missed-check-ins",
    claim_sql=(
        "SELECT participant_id, agency_id FROM monitored_participants WHERE check_in_deadline <= $1"
        " ORDER BY check_in_deadline LIMIT $2 FOR UPDATE SKIP LOCKED"
    ),
    decide=decide_detect_missed_check_ins,
    command=lambda pid: DetectMissedCheckIns(participant_id=pid),
)

MILESTONES = SweepKind(
    name="milestones",
    claim_sql=(
        "SELECT participant_id, agency_id FROM monitored_participants WHERE milestone_due_at <= $1"
        " ORDER BY milestone_due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    ),
    decide=decide_check_milestones,
    command=lambda pid: CheckMilestones(participant_id=pid),
)


async def sweep_once(pool: asyncpg.Pool, kind: SweepKind, now: datetime, batch_size: int) -> tuple[int, int]:
    """One batch in one transaction; returns (rows claimed, events appended)."""
    with SWEEP_SECONDS.labels(kind.name).time():
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(kind.claim_sql, now, batch_size)
            if not rows:
                return 0, 0
            metadata = Metadata(correlation_id=str(uuid.uuid4()), actor=f"scheduler:{kind.name}")
            uow = UnitOfWork(conn=conn, store=PostgresEventStore(pool), service="monitoring", metadata=metadata,
                             clock=lambda: now, tables=PostgresTables(conn))
            loaded = await monitors.load_many(uow, [r["participant_id"] for r in rows])
            changed = await monitors.save_many(uow, [
                Decision(current, kind.decide(current.state, kind.command(row["participant_id"]), now),
                         row["participant_id"], row["agency_id"])
                for row, current in zip(rows, loaded, strict=True)
            ])
            # A claimed row whose stream took no event still moves its due time on.
            await uow.tables.sync_due(
                [(row["participant_id"], row["agency_id"], c.state) for row, c in zip(rows, changed, strict=True)
                 if not c.stored], now
            )
    appended = sum(len(c.stored) for c in changed)
    SWEPT.labels(kind.name).inc(len(rows))
    EMITTED.labels(kind.name).inc(appended)
    return len(rows), appended


class Scheduler:
    """Runs sweeps of one kind until cancelled: back to back while rows are due, else polling."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        kind: SweepKind,
        *,
        clock: Clock = utc_now,
        batch_size: int = 500,
        idle_poll_s: float = 0.25,
    ) -> None:
        self.pool = pool
        self.kind = kind
        self.clock = clock
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                claimed, _ = await sweep_once(self.pool, self.kind, self.clock(), self.batch_size)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except ConcurrencyError:
                continue  # a stream moved under a claimed row: decide again on fresh state
            except Exception as exc:  # keep sweeping through database outages
                log.warning("sweep failed", sweep=self.kind.name, error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if claimed < self.batch_size:
                await asyncio.sleep(self.idle_poll_s)
