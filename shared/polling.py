"""The kernel's polling worker, and how a polling loop sets a bad row aside.

Every loop that works through rows of a table (the outbox relay, the schedulers, the escalation
and dispatch sweeps, the consent expiry) has the same shape, written once here:

- :class:`PollingWorker` calls a step again at once while it reports a full batch, else waits for
  a wake-up (an :class:`asyncio.Event`, optionally set by PostgreSQL ``LISTEN``) or its poll
  interval; a step that fails is logged, counted and retried with a capped exponential
  :class:`Backoff`. Some exceptions can be declared to end the worker (``stop_on``) or to retry at
  once (``again_on``).
- :func:`set_aside` records a row the loop cannot handle (an unreadable stream, a fold error, a
  send that always crashes) in the kernel's ``set_aside`` table, with a log line naming the row
  and the counter ``waypoint_poll_rows_set_aside_total{loop}``; the loop's claim excludes it with
  :func:`not_set_aside`, so the rows behind it keep flowing. An operator deletes the ``set_aside``
  row (after fixing the cause) to put it back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from prometheus_client import Counter

from shared.db import is_transient_database_error

log = structlog.get_logger(__name__)

POLL_FAILURES = Counter("waypoint_poll_failures_total", "Polling steps that failed and were retried", ["loop"])
SET_ASIDE = Counter("waypoint_poll_rows_set_aside_total", "Rows a polling loop set aside", ["loop"])


class Backoff:
    """Capped exponential delays: ``first``, twice that, ... up to ``cap``; :meth:`reset` on success."""

    def __init__(self, first: float = 0.2, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.next = first

    def reset(self) -> None:
        self.next = self.first

    async def sleep(self) -> float:
        """Sleep the current delay and double it; returns the delay slept."""
        delay = self.next
        self.next = min(self.next * 2, self.cap)
        await asyncio.sleep(delay)
        return delay


class PollingWorker:
    """Runs ``step`` until cancelled. ``step`` returns how many rows it handled; when that is at
    least ``full_batch`` it runs again at once, else after the next wake-up or ``interval``."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[int]],
        *,
        interval: float,
        full_batch: int | None = None,
        listen: tuple[str, str] | None = None,
        wake: asyncio.Event | None = None,
        backoff: Backoff | None = None,
        stop_on: tuple[type[BaseException], ...] = (),
        again_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.name = name
        self._step = step
        self._interval = interval
        self._full_batch = full_batch
        self._listen = listen  # (dsn, channel): a dedicated connection whose NOTIFYs wake the worker
        self.wake = wake or asyncio.Event()
        self._backoff = backoff or Backoff()
        self._stop_on = stop_on
        self._again_on = again_on

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen_forever(), name=f"{self.name}-listen") if self._listen else None
        try:
            while True:
                self.wake.clear()  # before the step: a wake-up during it still counts
                try:
                    handled = await self._step()
                except asyncio.CancelledError:
                    raise
                except self._stop_on:
                    raise
                except self._again_on:
                    continue
                except Exception as exc:
                    POLL_FAILURES.labels(self.name).inc()
                    log.warning("polling step failed, retrying", loop=self.name, error=repr(exc),
                                retry_in=self._backoff.next)
                    await self._backoff.sleep()
                    continue
                self._backoff.reset()
                if self._full_batch is not None and handled >= self._full_batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self._interval)
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _listen_forever(self) -> None:
        """Keep a LISTEN connection; while it is lost, polling alone covers the gap."""
        assert self._listen is not None
        dsn, channel = self._listen
        backoff = Backoff(first=1.0, cap=10.0)
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(dsn)
                await conn.add_listener(channel, lambda *_: self.wake.set())
                backoff.reset()
                while not conn.is_closed():
                    await asyncio.sleep(2)
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("wake-up listener lost, polling meanwhile", loop=self.name, error=repr(exc))
                await backoff.sleep()
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)


def not_set_aside(loop: str, key_sql: str) -> str:
    """SQL condition for a claim query: the row keyed ``key_sql`` is not set aside by ``loop``."""
    if "'" in loop:
        raise ValueError(f"loop name {loop!r}")
    return f"NOT EXISTS (SELECT 1 FROM set_aside sa WHERE sa.loop = '{loop}' AND sa.row_key = ({key_sql})::text)"


def should_set_aside(exc: BaseException) -> bool:
    """A row whose handling raised ``exc`` is set aside unless the database was merely in trouble
    (then the whole step is retried later)."""
    return not (is_transient_database_error(exc) or isinstance(exc, OSError | TimeoutError))


async def set_aside(db: asyncpg.Pool | asyncpg.Connection, loop: str, row_key: object, error: BaseException | str
                    ) -> None:
    """Record that ``loop`` cannot handle the row ``row_key``: the loop's claim skips it from now on."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    await db.execute(
        "INSERT INTO set_aside (loop, row_key, reason) VALUES ($1, $2, $3) ON CONFLICT (loop, row_key)"
        " DO UPDATE SET reason = EXCLUDED.reason",
        loop,
        str(row_key),
        reason[:2000],
    )
    SET_ASIDE.labels(loop).inc()
    log.error("row set aside", loop=loop, row=str(row_key), reason=reason)
