"""The agency overview: people by risk level, and daily counts of what happened."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from shared.cloudevents import ReceivedEvent

#: Which events are counted per day, and the payload date that places them on a day.
COUNTED = {
    "CheckInCompleted": ("check_ins", "completed_at"),
    "CheckInMissed": ("missed_check_ins", "detected_at"),
    "MilestoneReached": ("milestones", "reached_on"),
    "HelpRequested": ("help_requests", "requested_at"),
    "RelapseReported": ("relapses", "reported_at"),
    "RiskEscalated": ("escalations", "escalated_at"),
}


def _day(value: Any, fallback: datetime) -> date:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    return fallback.date()


_ADD = (
    "INSERT INTO daily_counts (agency_id, day, kind, count) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (agency_id, day, kind) DO UPDATE SET count = daily_counts.count + excluded.count"
)


def count_key(received: ReceivedEvent) -> tuple[str, date, str] | None:
    """Which daily count an event adds one to (None if it is not counted)."""
    counted = COUNTED.get(received.event_type)
    if counted is None:
        return None
    kind, field = counted
    return received.agency_id, _day(received.data.get(field), received.occurred_at), kind


async def apply(received: ReceivedEvent, conn: asyncpg.Connection) -> None:
    key = count_key(received)
    if key is not None:
        await conn.execute(_ADD, *key, 1)


async def add_counts(conn: asyncpg.Connection, counts: dict[tuple[str, date, str], int]) -> None:
    if counts:  # in key order: concurrent writers lock these shared rows in the same order
        await conn.executemany(_ADD, [(*key, n) for key, n in sorted(counts.items())])
