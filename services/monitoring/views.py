"""Monitoring's reads, in one place: what the routes show (the caseload, the agency overview, a
participant's timeline, check-in series, risk history and private notes).

Every function takes the pool and the caller's agency and reads the read models the projections
keep (``projections/``) or the private texts; none writes. Every query names the agency, so another
agency's participant reads like a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.adapters.tables import PRIVATE_BODY
from services.monitoring.domain.caseload import need, ranking_key
from services.monitoring.projections.overview import COUNTED
from shared.keyring import KeyRing
from shared.limits import MAX_BIGINT

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


def cursor_of(occurred_at: datetime, seq: int) -> str:
    """An opaque keyset cursor: the entry's time and its arrival number (ties broken by arrival)."""
    return f"{occurred_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}~{seq}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, seq) of a cursor made by :func:`cursor_of`; ValueError if malformed."""
    moment, _, seq = cursor.partition("~")
    number = int(seq)
    if not 0 <= number <= MAX_BIGINT:  # beyond a BIGINT it could only fail in the query, as a 500
        raise ValueError(f"cursor position out of range: {seq}")
    return datetime.strptime(moment, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC), number


async def timeline_page(
    conn: asyncpg.Pool,
    participant_id: UUID,
    agency_id: str,
    *,
    after: str | None = None,
    limit: int = 100,
    services: Sequence[str] | None = None,
    event_types: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One page of a participant's timeline in the order things happened.

    Events of different services arrive over different topics, so arrival order at monitoring
    can put an effect before its cause (a plan before the assessment it was drafted from); the
    time each event occurred cannot. ``after`` is the ``cursor`` of the last entry already seen;
    ``services`` / ``event_types`` keep only the entries of those services / event types.
    """
    since, since_seq = parse_cursor(after) if after else (datetime.min.replace(tzinfo=UTC), 0)
    rows = await conn.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, summary, data::text AS data FROM timeline"
        " WHERE participant_id = $1 AND agency_id = $2 AND (occurred_at, seq) > ($3, $4)"
        " AND ($6::text[] IS NULL OR source = ANY($6)) AND ($7::text[] IS NULL OR event_type = ANY($7))"
        " ORDER BY occurred_at, seq LIMIT $5",
        participant_id,
        agency_id,
        since,
        since_seq,
        limit,
        list(services) if services else None,
        list(event_types) if event_types else None,
    )
    return [
        {
            "cursor": cursor_of(r["occurred_at"], r["seq"]),
            "position": r["seq"],
            "event_id": str(r["event_id"]),
            "type": r["event_type"],
            "service": r["source"],
            "occurred_at": r["occurred_at"].isoformat(),
            "summary": r["summary"],
            "data": orjson.loads(r["data"]),
        }
        for r in rows
    ]


async def latest_timeline(pool: asyncpg.Pool, participant_id: UUID, agency_id: str, limit: int) -> list[dict[str, Any]]:
    """The newest timeline lines, newest first (another agency's participant: none)."""
    rows = await pool.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, summary FROM timeline WHERE participant_id = $1"
        " AND agency_id = $2 ORDER BY occurred_at DESC, seq DESC LIMIT $3",
        participant_id, agency_id, limit,
    )
    return [
        {"cursor": cursor_of(r["occurred_at"], r["seq"]), "event_id": str(r["event_id"]), "type": r["event_type"],
         "service": r["source"], "occurred_at": r["occurred_at"].isoformat(), "summary": r["summary"]}
        for r in rows
    ]


async def current_risk(pool: asyncpg.Pool, participant_id: UUID, agency_id: str) -> dict[str, Any]:
    """The risk level in force now (``assessed`` false: no assessment yet, the starting default)."""
    current = await pool.fetchrow(
        "SELECT risk_level, assessed FROM caseload WHERE participant_id = $1 AND agency_id = $2",
        participant_id, agency_id,
    )
    return {"current_risk_level": current["risk_level"] if current else None,
            "assessed": bool(current and current["assessed"])}


async def caseload(
    pool: asyncpg.Pool, agency_id: str, specialist_id: str | None, now: datetime, limit: int = 200
) -> list[dict[str, Any]]:
    """The caseload of ``specialist_id`` (or the whole agency), highest need first."""
    rows = await pool.fetch(
        "SELECT participant_id, specialist_id, risk_level, assessed, consecutive_misses, last_check_in_at,"
        " last_craving, next_due_at, monitored_since, open_alerts FROM caseload"
        " WHERE agency_id = $1 AND NOT discharged AND ($2::text IS NULL OR specialist_id = $2)",
        agency_id,
        specialist_id,
    )
    scored = []
    for r in rows:
        n = need(
            r["risk_level"], r["consecutive_misses"], r["last_check_in_at"], r["open_alerts"], now, r["monitored_since"]
        )
        scored.append((ranking_key(n, r["last_check_in_at"]), n, r))
    scored.sort(key=lambda item: item[0])
    return [
        {
            "participant_id": str(r["participant_id"]),
            "specialist_id": r["specialist_id"],
            "need": n.score,
            "reasons": list(n.reasons),
            "risk_level": r["risk_level"],
            "assessed": r["assessed"],
            "consecutive_misses": r["consecutive_misses"],
            "last_check_in_at": r["last_check_in_at"].isoformat() if r["last_check_in_at"] else None,
            "last_craving": r["last_craving"],
            "next_due_at": r["next_due_at"].isoformat() if r["next_due_at"] else None,
            "open_alerts": r["open_alerts"],
        }
        for _, n, r in scored[:limit]
    ]


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


Kind = Literal["check_in_note", "warning_sign", "coping_strategy", "help_message", "relapse_note", "contact_note"]


async def assigned_specialist(pool: asyncpg.Pool, participant_id: UUID, agency_id: str) -> tuple[bool, str | None]:
    """(known to monitoring in this agency, the specialist the caseload has for them)."""
    row = await pool.fetchrow(
        "SELECT m.agency_id, c.specialist_id FROM monitored_participants m"
        " LEFT JOIN caseload c ON c.participant_id = m.participant_id WHERE m.participant_id = $1",
        participant_id,
    )
    if row is None or row["agency_id"] != agency_id:
        return False, None
    return True, row["specialist_id"]


async def private_texts(
    pool: asyncpg.Pool,
    participant_id: UUID,
    agency_id: str,
    keys: KeyRing,
    *,
    kind: str | None = None,
    ref_id: UUID | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A participant's private texts, newest first; ``before`` is the ``id`` of the last one seen."""
    rows = await pool.fetch(
        "SELECT id, kind, ref_id, body, written_by, written_at FROM private_texts"
        " WHERE participant_id = $1 AND agency_id = $2 AND ($3::text IS NULL OR kind = $3)"
        " AND ($4::uuid IS NULL OR ref_id = $4) AND ($5::bigint IS NULL OR id < $5)"
        " ORDER BY id DESC LIMIT $6",
        participant_id,
        agency_id,
        kind,
        ref_id,
        before,
        limit,
    )
    opened = await keys.keys(pool, [participant_id])
    return [
        opened.mark({
            "id": r["id"],
            "kind": r["kind"],
            "ref_id": str(r["ref_id"]),
            "body": opened.open(participant_id, PRIVATE_BODY, r["body"]),
            "written_by": r["written_by"],
            "written_at": r["written_at"].isoformat(),
        }, participant_id)
        for r in rows
    ]
