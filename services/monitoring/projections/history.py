"""Reads over the timeline for one participant's page: risk level history and the check-in series.

Both are slices of the timeline read model (every event of every service about the person), so
they need no table of their own and are rebuilt with it. Always scoped to the caller's agency.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.projections.timeline import cursor_of, parse_cursor

#: Events that set a participant's risk level: intake's (from an assessment) and monitoring's own.
RISK_EVENTS = ("RiskLevelChanged", "RiskEscalated")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


async def known(pool: asyncpg.Pool, participant_id: UUID, agency_id: str) -> bool:
    """Whether monitoring knows the participant in this agency (another agency's: no)."""
    found = await pool.fetchval(
        "SELECT agency_id FROM monitored_participants WHERE participant_id = $1", participant_id
    )
    return bool(found == agency_id)


def _risk_change(row: asyncpg.Record) -> dict[str, Any]:
    data = orjson.loads(row["data"])
    if row["event_type"] == "RiskLevelChanged":  # intake: an assessment's result
        level, previous = data.get("risk_level"), data.get("previous_level")
        reasons = [{"code": None, "detail": str(r)} for r in data.get("reasons", [])]
        cause, assessment_id, immediate = "assessment", data.get("assessment_id"), False
    else:  # monitoring: a check-in, missed check-ins or a help request
        level, previous = data.get("to_level"), data.get("from_level")
        reasons = [{"code": r.get("code"), "detail": r.get("detail")} for r in data.get("reasons", [])]
        cause, assessment_id, immediate = data.get("cause"), None, bool(data.get("immediate"))
    return {
        "cursor": cursor_of(row["occurred_at"], row["seq"]),
        "event_id": str(row["event_id"]),
        "event_type": row["event_type"],
        "service": row["source"],
        "changed_at": row["occurred_at"].isoformat(),
        "risk_level": level,
        "previous_level": previous,
        "reasons": reasons,
        "cause": cause,
        "immediate": immediate,
        "assessment_id": assessment_id,
    }


async def risk_history(
    pool: asyncpg.Pool, participant_id: UUID, agency_id: str, *, before: str | None, limit: int
) -> list[dict[str, Any]]:
    """Changes of the participant's risk level with their reasons, newest first.

    ``before`` is the ``cursor`` of the last change already seen (ValueError if malformed).
    """
    until, until_seq = parse_cursor(before) if before else (_FAR_FUTURE, 0)
    rows = await pool.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, data::text AS data FROM timeline"
        " WHERE participant_id = $1 AND agency_id = $2 AND event_type = ANY($3::text[])"
        " AND ($4::boolean OR (occurred_at, seq) < ($5, $6))"
        " ORDER BY occurred_at DESC, seq DESC LIMIT $7",
        participant_id,
        agency_id,
        list(RISK_EVENTS),
        before is None,
        until,
        until_seq,
        limit,
    )
    return [_risk_change(r) for r in rows]


def _check_in(row: asyncpg.Record) -> dict[str, Any]:
    data = orjson.loads(row["data"])
    return {
        "cursor": cursor_of(row["occurred_at"], row["seq"]),
        "check_in_id": data.get("check_in_id"),
        "completed_at": data.get("completed_at") or row["occurred_at"].isoformat(),
        "craving": data.get("craving"),
        "mood": data.get("mood"),
        "used_since_last_check_in": data.get("used_since_last_check_in"),
        "using_now": data.get("using_now", False),
        "support_meeting_attended": data.get("support_meeting_attended", False),
        "warning_signs": len(data.get("plan_warning_sign_ids", [])) + int(data.get("new_warning_sign_count", 0)),
        "coping_strategies_used": len(data.get("coping_strategies", [])),
    }


async def check_in_series(
    pool: asyncpg.Pool,
    participant_id: UUID,
    agency_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Completed check-ins (craving, mood, use) in the order they happened, for a chart.

    ``after`` is the ``cursor`` of the last check-in already seen (ValueError if malformed).
    """
    start, start_seq = parse_cursor(after) if after else (since or datetime.min.replace(tzinfo=UTC), -1)
    rows = await pool.fetch(
        "SELECT seq, event_id, occurred_at, data::text AS data FROM timeline"
        " WHERE participant_id = $1 AND agency_id = $2 AND event_type = 'CheckInCompleted'"
        " AND (occurred_at, seq) > ($3, $4) AND ($5::timestamptz IS NULL OR occurred_at >= $5)"
        " AND ($6::timestamptz IS NULL OR occurred_at < $6)"
        " ORDER BY occurred_at, seq LIMIT $7",
        participant_id,
        agency_id,
        start,
        start_seq,
        since,
        until,
        limit,
    )
    return [_check_in(r) for r in rows]
