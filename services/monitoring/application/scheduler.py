"""The schedulers: missed check-ins and milestones, claimed in batches with SKIP LOCKED.

A sweep is one transaction: claim up to ``batch_size`` due rows (oldest first) with
``FOR UPDATE SKIP LOCKED``, read their streams in one query, decide for each, append every new
event in one statement (with the outbox), move each row's due time on, commit. Rows another
replica or a command holds are skipped, never waited for, so any number of replicas and workers
can sweep side by side; each window is recorded once because the stream moves past it in the
same transaction that releases the row. Windows that passed while no scheduler ran are simply
due rows: the first sweep after a restart records them all.

A batch that fails for a reason other than the database being in trouble (a stream that cannot be
read or folded, a decision that raises) is swept again row by row, and each row that still fails
is set aside (``set_aside`` table, loop ``monitoring.<sweep>``): the others keep being swept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

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
from shared.polling import PollingWorker, not_set_aside, set_aside, should_set_aside
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
    due_column: str
    decide: Callable[[MonitorState, Any, datetime], list[DomainEvent]]
    command: Callable[[Any], Any]

    @property
    def loop(self) -> str:
        """The name of this sweep's polling loop (metrics, set-aside rows)."""
        return f"monitoring.{self.name}"

    @property
    def claim_sql(self) -> str:
        """Due rows, oldest first, skipping locked and set-aside ones: ($1 now, $2 limit)."""
        return (
            f"SELECT participant_id, agency_id FROM monitored_participants WHERE {self.due_column} <= $1"
            f" AND {not_set_aside(self.loop, 'participant_id')}"
            f" ORDER BY {self.due_column} LIMIT $2 FOR UPDATE SKIP LOCKED"
        )

    @property
    def claim_one_sql(self) -> str:
        """One participant's row if due: ($1 now, $2 participant id)."""
        return (
            f"SELECT participant_id, agency_id FROM monitored_participants WHERE {self.due_column} <= $1"
            " AND participant_id = $2 FOR UPDATE SKIP LOCKED"
        )

    @property
    def due_sql(self) -> str:
        """Due participants without locking, to sweep one by one: ($1 now, $2 limit)."""
        return (
            f"SELECT participant_id FROM monitored_participants WHERE {self.due_column} <= $1"
            f" AND {not_set_aside(self.loop, 'participant_id')} ORDER BY {self.due_column} LIMIT $2"
        )


MISSED_CHECK_INS = SweepKind(
    name="missed-check-ins",
    due_column="check_in_deadline",
    decide=decide_detect_missed_check_ins,
    command=lambda pid: DetectMissedCheckIns(participant_id=pid),
)

MILESTONES = SweepKind(
    name="milestones",
    due_column="milestone_due_at",
    decide=decide_check_milestones,
    command=lambda pid: CheckMilestones(participant_id=pid),
)


async def sweep_once(
    pool: asyncpg.Pool, kind: SweepKind, now: datetime, batch_size: int, *, only: UUID | None = None
) -> tuple[int, int]:
    """One batch (or the participant ``only``) in one transaction; returns (rows claimed, events appended)."""
    with SWEEP_SECONDS.labels(kind.name).time():
        async with pool.acquire() as conn, conn.transaction():
            if only is None:
                rows = await conn.fetch(kind.claim_sql, now, batch_size)
            else:
                rows = await conn.fetch(kind.claim_one_sql, now, only)
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
        worker = PollingWorker(self.kind.loop, self.step, interval=self.idle_poll_s, full_batch=self.batch_size,
                               again_on=(ConcurrencyError,))
        await worker.run()

    async def step(self) -> int:
        """One sweep; a batch that fails for a bad row is swept row by row, bad rows set aside.
        A stream moving under a claimed row (ConcurrencyError) means: decide again at once."""
        now = self.clock()
        try:
            claimed, _ = await sweep_once(self.pool, self.kind, now, self.batch_size)
        except ConcurrencyError:
            raise
        except Exception as exc:
            if not should_set_aside(exc):
                raise
            log.warning("sweep batch failed, sweeping row by row", sweep=self.kind.name, error=repr(exc))
            return await self._one_by_one(now)
        return claimed

    async def _one_by_one(self, now: datetime) -> int:
        swept = 0
        for row in await self.pool.fetch(self.kind.due_sql, now, self.batch_size):
            pid = row["participant_id"]
            try:
                claimed, _ = await sweep_once(self.pool, self.kind, now, 1, only=pid)
                swept += claimed
            except ConcurrencyError:
                continue  # the next step decides again
            except Exception as exc:
                if not should_set_aside(exc):
                    raise
                await set_aside(self.pool, self.kind.loop, pid, exc)
        return swept
