"""The dispatcher: sends due email and webhook deliveries and records each outcome.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and leased (their ``due_at`` pushed forward), so
replicas never send the same try twice and a crash mid-send only means a later retry. Each send
runs as its own task: a slow or failing webhook never holds back an urgent email.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import structlog
from prometheus_client import Counter, Histogram

from services.notifications.adapters.streams import notifications
from services.notifications.application.deliver import WAKE_CHANNEL
from services.notifications.application.sending import attempt
from services.notifications.domain.deliveries import decide_attempt_outcome, decide_undeliverable
from services.notifications.settings import NotificationSettings
from shared import faults
from shared.envelope import Metadata
from shared.polling import PollingWorker
from shared.runtime import Runtime

log = structlog.get_logger(__name__)

OUTCOMES = Counter(
    "waypoint_notification_attempts_total", "Email and webhook delivery attempts", ["channel", "urgency", "outcome"]
)
DELIVERY_SECONDS = Histogram(
    "waypoint_notification_delivery_seconds",
    "From the cause's occurrence to the delivery's acceptance",
    ["channel", "urgency"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)

LOOP = "notifications.dispatch"
CLAIM = """
UPDATE deliveries SET due_at = now() + make_interval(secs => $2)
WHERE notification_id IN (
    SELECT notification_id FROM deliveries WHERE status = 'pending' AND due_at <= now()
    ORDER BY (urgency = 'urgent') DESC, due_at LIMIT $1 FOR UPDATE SKIP LOCKED
) RETURNING *
"""


class Dispatcher:
    def __init__(self, rt: Runtime, cfg: NotificationSettings) -> None:
        self.rt = rt
        self.cfg = cfg
        self._slots = asyncio.Semaphore(cfg.dispatch_concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    async def run(self) -> None:
        """Dispatch until cancelled: the kernel's polling worker, woken by the NOTIFY that queuing
        a delivery sends at commit; polling covers any gap."""
        self._http = httpx.AsyncClient(timeout=self.cfg.webhook_timeout_s)
        worker = PollingWorker(LOOP, self.dispatch_due, interval=self.cfg.dispatch_poll_s,
                               full_batch=self.cfg.dispatch_batch, listen=(self.rt.settings.dsn, WAKE_CHANNEL))
        try:
            await worker.run()
        finally:
            for task in list(self._inflight):
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await self._http.aclose()

    async def dispatch_due(self) -> int:
        """Claim due deliveries and start one task per send; returns how many were claimed."""
        free = max(1, min(self.cfg.dispatch_batch, self.cfg.dispatch_concurrency - len(self._inflight)))
        rows = await self.rt.pool.fetch(CLAIM, free, self.cfg.dispatch_lease_s)
        for row in rows:
            task = asyncio.create_task(self._send(row))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> None:
        """One try: send, then record the outcome. While the send is in flight its lease is
        renewed, so no other claim sends it a second time; a crash is recorded as a failed try
        (the retry policy ends a delivery that always crashes in NotificationFailed)."""
        async with self._slots:
            renewing = asyncio.create_task(self._renew_lease(row["notification_id"]))
            try:
                assert self._http is not None
                try:
                    outcome = await attempt(row, self.rt.pool, self.cfg, self._http, self.rt.keys)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("delivery crashed", notification_id=str(row["notification_id"]), error=repr(exc))
                    outcome = (False, f"delivery-crashed: {type(exc).__name__}")
                if outcome[0]:  # accepted by the SMTP server or the endpoint: not yet recorded
                    faults.point("notifications.after_send_before_record")
                await self._record(row, *outcome)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recording failed (database away): tried again after the lease
                log.error("delivery outcome not recorded", notification_id=str(row["notification_id"]),
                          error=repr(exc))
            finally:
                renewing.cancel()
                await asyncio.gather(renewing, return_exceptions=True)

    async def _renew_lease(self, notification_id: Any) -> None:
        every = max(0.05, self.cfg.dispatch_lease_s / 3)
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):  # a missed renewal only risks a later retry
                await self.rt.pool.execute(
                    "UPDATE deliveries SET due_at = now() + make_interval(secs => $2)"
                    " WHERE notification_id = $1 AND status = 'pending'",
                    notification_id, self.cfg.dispatch_lease_s,
                )

    async def _record(self, row: asyncpg.Record, succeeded: bool | None, reason: str) -> None:
        now = datetime.now(UTC)
        metadata = Metadata(correlation_id=row["correlation_id"], causation_id=str(row["cause_event_id"]))
        async with self.rt.uow(metadata) as uow:
            locked = await uow.conn.fetchval(
                "SELECT 1 FROM deliveries WHERE notification_id = $1 AND status = 'pending' FOR UPDATE",
                row["notification_id"],
            )
            if not locked:
                return

            def decide(state: Any) -> list[Any]:
                if succeeded is None:
                    return decide_undeliverable(state, reason, now)
                return decide_attempt_outcome(state, succeeded, reason, now, self.cfg.retry_policy, random.random)

            outcome = await notifications.execute(
                uow, row["notification_id"], decide, agency_id=row["agency_id"], participant_id=row["participant_id"]
            )
            state = outcome.state
            if state.status == "pending":
                retry_at = state.next_attempt_at or now + timedelta(seconds=self.cfg.retry_base_s)
                await uow.conn.execute(
                    "UPDATE deliveries SET attempts = $2, due_at = $3, last_error = $4 WHERE notification_id = $1",
                    row["notification_id"],
                    state.attempts,
                    retry_at,
                    reason,
                )
            else:
                await uow.conn.execute(
                    "UPDATE deliveries SET status = $2, attempts = $3, last_error = $4, finished_at = $5"
                    " WHERE notification_id = $1",
                    row["notification_id"],
                    state.status,
                    state.attempts,
                    None if state.status == "sent" else reason,
                    now,
                )
        OUTCOMES.labels(row["channel"], row["urgency"], state.status).inc()
        if state.status == "sent" and row["urgency"] == "urgent":
            elapsed = (now - row["cause_occurred_at"]).total_seconds()
            DELIVERY_SECONDS.labels(row["channel"], row["urgency"]).observe(max(0.0, elapsed))
        log.info(
            "delivery attempt",
            notification_id=str(row["notification_id"]),
            channel=row["channel"],
            outcome=state.status,
            attempts=state.attempts,
            events=[e.event_type for e in outcome.stored],
        )
