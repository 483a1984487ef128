"""The time a service reads: one clock on the runtime, passed to every unit of work.

Domain code never reads a clock (time is an argument). Handlers take the instant their unit of
work started (``uow.now``); background loops ask the runtime's clock. Tests move a
:class:`ManualClock` by hand instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant (timezone-aware, UTC)."""

    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    """The machine's time, in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until moved: ``clock.advance(minutes=5)`` or ``clock.set(t)``."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        self.at += delta if delta is not None else timedelta(**parts)
        return self.at
