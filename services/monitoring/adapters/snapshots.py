"""Snapshots of participant-monitor state, so a long stream is not folded from its start.

A participant who checks in daily writes hundreds of events a year; the check-in path and the
sweeps read the latest snapshot and only the events after it. A snapshot is a cache: it is
written in the same transaction as the events it covers, and ignored (the stream is folded from
the start) when its ``format`` is not the current one, which must be bumped whenever ``evolve``
or ``MonitorState`` change meaning.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.schedule import Cadence, Schedule

#: 2: ``time_zone`` (the participant's, where milestones are counted). ``TimeZoneNoted`` (later)
#: changes it without a new format: the state keeps its shape, and a snapshot written before the
#: event existed covers a stream that cannot hold one, so it folds to the same state as now.
FORMAT = 2
#: Take a new snapshot once this many events were appended after the last one.
EVERY = 10


def to_json(state: MonitorState) -> str:
    s = state.schedule
    return orjson.dumps(
        {
            "format": FORMAT,
            "participant_id": str(state.participant_id) if state.participant_id else None,
            "active": state.active,
            "ended": state.ended,
            "risk_level": state.risk_level,
            "schedule": None
            if s is None
            else {
                "interval_s": s.cadence.interval.total_seconds(),
                "grace_s": s.cadence.grace.total_seconds(),
                "basis": s.basis,
                "next_due_at": s.next_due_at.isoformat(),
            },
            "consecutive_misses": state.consecutive_misses,
            "last_check_in_at": state.last_check_in_at.isoformat() if state.last_check_in_at else None,
            "recent_cravings": list(state.recent_cravings),
            "count_start": state.count_start.isoformat() if state.count_start else None,
            "milestones_announced": sorted(state.milestones_announced),
            "time_zone": state.time_zone,
        }
    ).decode()


def from_json(text: str | None) -> MonitorState | None:
    """The state in a snapshot, or None if there is none or it has an older format."""
    if text is None:
        return None
    d: dict[str, Any] = orjson.loads(text)
    if d.get("format") != FORMAT:
        return None
    s = d["schedule"]
    return MonitorState(
        participant_id=UUID(d["participant_id"]) if d["participant_id"] else None,
        active=d["active"],
        ended=d["ended"],
        risk_level=d["risk_level"],
        schedule=None
        if s is None
        else Schedule(
            Cadence(timedelta(seconds=s["interval_s"]), timedelta(seconds=s["grace_s"])),
            s["basis"],
            datetime.fromisoformat(s["next_due_at"]),
        ),
        consecutive_misses=d["consecutive_misses"],
        last_check_in_at=datetime.fromisoformat(d["last_check_in_at"]) if d["last_check_in_at"] else None,
        recent_cravings=tuple(d["recent_cravings"]),
        count_start=date.fromisoformat(d["count_start"]) if d["count_start"] else None,
        milestones_announced=frozenset(d["milestones_announced"]),
        time_zone=d["time_zone"],
    )


_SAVE = """
INSERT INTO monitor_snapshots (participant_id, version, state)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[]::jsonb[])
ON CONFLICT (participant_id) DO UPDATE SET version = excluded.version, state = excluded.state
"""


async def save_due(conn: asyncpg.Connection, items: list[tuple[UUID, int, int, MonitorState]]) -> None:
    """Write a snapshot for each (participant, snapshot version, new version, state) that is due."""
    due = [(pid, new, state) for pid, old, new, state in items if new - old >= EVERY]
    if due:
        await conn.execute(_SAVE, [d[0] for d in due], [d[1] for d in due], [to_json(d[2]) for d in due])
