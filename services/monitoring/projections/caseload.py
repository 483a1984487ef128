"""The caseload read model: one row per participant with what ranks them by need.

Fed by the all-topics consumer. Events of different topics may arrive in any order, so every
statement is an upsert that touches only its own columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.cloudevents import ReceivedEvent

_UPSERT = (
    "INSERT INTO caseload (participant_id, agency_id{cols}) VALUES ($1, $2{vals})"
    " ON CONFLICT (participant_id) DO UPDATE SET {sets}, updated_at = clock_timestamp()"
)


async def _set(conn: asyncpg.Connection, received: ReceivedEvent, **columns: Any) -> None:
    names = list(columns)
    sql = _UPSERT.format(
        cols="".join(f", {n}" for n in names),
        vals="".join(f", ${i}" for i in range(3, 3 + len(names))),
        sets=", ".join(f"{n} = excluded.{n}" for n in names),
    )
    await conn.execute(sql, received.participant_id, received.agency_id, *columns.values())


def _ts(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def changes(received: ReceivedEvent) -> dict[str, Any] | None:
    """The caseload columns an event sets (None if it sets none). Alerts are handled apart."""
    d, kind = received.data, received.event_type
    if kind in ("ParticipantEnrolled", "MonitoringStarted"):
        return {"specialist_id": d.get("specialist_id"), "monitored_since": received.occurred_at}
    if kind == "SpecialistAssigned":
        return {"specialist_id": d.get("specialist_id")}
    if kind == "SpecialistUnassigned":
        return {"specialist_id": None}
    if kind in ("AssessmentCompleted", "RiskLevelChanged") and d.get("risk_level"):
        return {"risk_level": str(d["risk_level"]), "assessed": True}
    if kind == "RiskEscalated":
        return {"risk_level": str(d["to_level"])}
    if kind == "ParticipantDischarged":
        return {"discharged": True}
    if kind == "CheckInCompleted":
        return {
            "consecutive_misses": 0,
            "last_check_in_at": _ts(d.get("completed_at")),
            "last_craving": d.get("craving"),
            "next_due_at": _ts(d.get("next_due_at")),
        }
    if kind == "CheckInMissed":
        return {"consecutive_misses": int(d["consecutive_misses"])}
    if kind == "CheckInScheduleSet":
        return {"next_due_at": _ts(d.get("next_due_at"))}
    return None


ALERT_EVENTS = ("AlertRaised", "AlertAcknowledged")


async def apply(received: ReceivedEvent, conn: asyncpg.Connection) -> None:
    if received.participant_id is None:
        return
    columns = changes(received)
    if columns is not None:
        await _set(conn, received, **columns)
    elif received.event_type in ALERT_EVENTS:
        await apply_alert(received, conn)


async def apply_alert(received: ReceivedEvent, conn: asyncpg.Connection) -> None:
    d = received.data
    if received.event_type == "AlertRaised":
        await conn.execute(
            "INSERT INTO open_alerts (alert_id, participant_id, agency_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            UUID(str(d["alert_id"])),
            received.participant_id,
            received.agency_id,
        )
    else:
        await conn.execute("DELETE FROM open_alerts WHERE alert_id = $1", UUID(str(d["alert_id"])))
    await _count_alerts(conn, received)


#: PostgreSQL types of the caseload columns events set (for the batch upsert's arrays).
_COLUMN_TYPES = {
    "specialist_id": "text", "risk_level": "text", "assessed": "boolean", "consecutive_misses": "integer",
    "last_check_in_at": "timestamptz", "last_craving": "integer", "next_due_at": "timestamptz",
    "monitored_since": "timestamptz", "discharged": "boolean", "open_alerts": "integer",
}
_UPSERT_MANY = (
    "INSERT INTO caseload (participant_id, agency_id{cols}) SELECT * FROM unnest($1::uuid[], $2::text[]{arrays})"
    " ON CONFLICT (participant_id) DO UPDATE SET {sets}, updated_at = clock_timestamp()"
)


async def lock_rows(conn: asyncpg.Connection, participant_ids: list[UUID]) -> None:
    """Lock the existing rows of these participants, in participant order (see
    :func:`services.monitoring.projections.read_models.apply_fresh`)."""
    if participant_ids:
        await conn.execute(
            "SELECT 1 FROM caseload WHERE participant_id = ANY($1::uuid[]) ORDER BY participant_id FOR UPDATE",
            sorted(set(participant_ids)),
        )


async def upsert_many(conn: asyncpg.Connection, rows: list[tuple[UUID, str, dict[str, Any]]]) -> None:
    """The merged columns of a batch, one participant per row: one statement per column set."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for pid, agency, columns in rows:
        names = tuple(sorted(columns))
        groups.setdefault(names, []).append((pid, agency, *(columns[n] for n in names)))
    for names, args in sorted(groups.items()):  # a fixed order of rows, against lock-order deadlocks
        args.sort(key=lambda a: a[0])
        sql = _UPSERT_MANY.format(
            cols="".join(f", {n}" for n in names),
            arrays="".join(f", ${i}::{_COLUMN_TYPES[n]}[]" for i, n in enumerate(names, start=3)),
            sets=", ".join(f"{n} = excluded.{n}" for n in names),
        )
        await conn.execute(sql, *(list(column) for column in zip(*args, strict=True)))


async def _count_alerts(conn: asyncpg.Connection, received: ReceivedEvent) -> None:
    count = await conn.fetchval("SELECT count(*) FROM open_alerts WHERE participant_id = $1", received.participant_id)
    await _set(conn, received, open_alerts=int(count))
