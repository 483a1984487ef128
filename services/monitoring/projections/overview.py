"""The agency overview: people by risk level, and daily counts of what happened."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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


async def overview(pool: asyncpg.Pool, agency_id: str, today: date) -> dict[str, Any]:
    week_start = today - timedelta(days=today.weekday())
    by_risk = await pool.fetch(
        "SELECT risk_level, count(*) AS n FROM caseload WHERE agency_id = $1 AND NOT discharged GROUP BY risk_level",
        agency_id,
    )
    counts = await pool.fetch(
        "SELECT day, kind, count FROM daily_counts WHERE agency_id = $1 AND day BETWEEN $2 AND $3",
        agency_id,
        week_start,
        today,
    )
    alerts = await pool.fetchval("SELECT count(*) FROM open_alerts WHERE agency_id = $1", agency_id)
    risk = {level: 0 for level in ("critical", "high", "moderate", "low")}
    risk.update({r["risk_level"]: r["n"] for r in by_risk})
    today_counts = {r["kind"]: r["count"] for r in counts if r["day"] == today}
    week: dict[str, int] = {}
    for r in counts:
        week[r["kind"]] = week.get(r["kind"], 0) + r["count"]
    return {
        "agency_id": agency_id,
        "date": today.isoformat(),
        "participants_by_risk": risk,
        "active_participants": sum(risk.values()),
        "open_alerts": int(alerts or 0),
        "today": {k: today_counts.get(k, 0) for k, _ in COUNTED.values()},
        "this_week": {k: week.get(k, 0) for k, _ in COUNTED.values()},
        "missed_check_ins_today": today_counts.get("missed_check_ins", 0),
        "milestones_this_week": week.get("milestones", 0),
    }
