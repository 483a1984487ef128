"""Reads for the console: recent check-ins (the chart), the latest timeline lines, the recovery count.

``/check-ins`` reads the check-ins' timeline lines and ``/timeline/latest`` the newest lines of all
(staff, audited like the timeline); ``/recovery`` is the participant's own count of days and
milestones (themselves or staff).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request

from services.monitoring.application import handlers
from services.monitoring.domain.milestones import milestones_between, next_milestone_on
from services.monitoring.entrypoints.api import _audit, now_of, self_or_staff, staff
from services.monitoring.projections.timeline import cursor_of
from shared.auth import Principal
from shared.runtime import Runtime, command_metadata, runtime
from shared.time_zones import local_date

router = APIRouter(prefix="/v1")


@router.get("/participants/{participant_id}/check-ins")
async def recent_check_ins(
    participant_id: UUID,
    limit: int = Query(30, ge=1, le=500),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The latest check-ins' answers (no private note), newest first."""
    rows = await rt.pool.fetch(
        "SELECT occurred_at, data::text AS data FROM timeline WHERE participant_id = $1 AND agency_id = $2"
        " AND event_type = 'CheckInCompleted' ORDER BY occurred_at DESC, seq DESC LIMIT $3",
        participant_id, caller.agency_id, limit,
    )
    if rows:
        await _audit(rt.pool, caller, "read check-ins", [participant_id])
    keep = ("check_in_id", "craving", "mood", "used_since_last_check_in", "using_now", "support_meeting_attended")
    check_ins = []
    for r in rows:
        data = orjson.loads(r["data"])
        check_ins.append({**{k: data.get(k) for k in keep}, "completed_at": r["occurred_at"].isoformat()})
    return {"participant_id": str(participant_id), "check_ins": check_ins}


@router.get("/participants/{participant_id}/timeline/latest")
async def latest_timeline(
    participant_id: UUID,
    limit: int = Query(15, ge=1, le=100),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The newest timeline lines, newest first (the paged ``/timeline`` reads oldest first)."""
    rows = await rt.pool.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, summary FROM timeline WHERE participant_id = $1"
        " AND agency_id = $2 ORDER BY occurred_at DESC, seq DESC LIMIT $3",
        participant_id, caller.agency_id, limit,
    )
    if rows:
        await _audit(rt.pool, caller, "read timeline", [participant_id])
    entries = [
        {"cursor": cursor_of(r["occurred_at"], r["seq"]), "event_id": str(r["event_id"]), "type": r["event_type"],
         "service": r["source"], "occurred_at": r["occurred_at"].isoformat(), "summary": r["summary"]}
        for r in rows
    ]
    return {"participant_id": str(participant_id), "entries": entries}


@router.get("/participants/{participant_id}/recovery")
async def recovery(
    participant_id: UUID, request: Request, caller: Principal = Depends(self_or_staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Days counted since the recovery start (or the last relapse) where they live, and milestones."""
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await handlers.read_monitor(uow, participant_id, caller.agency_id)
        await _audit(uow.conn, caller, "read recovery count", [participant_id])
    today = local_date(now_of(rt), state.time_zone)
    start = state.count_start
    if start is None:
        return {"participant_id": str(participant_id), "count_start": None, "days_in_recovery": None,
                "milestones": [], "next_milestone_on": None}
    reached = milestones_between(start, None, today) if start <= today else []
    return {
        "participant_id": str(participant_id),
        "count_start": start.isoformat(),
        "days_in_recovery": max(0, (today - start).days),
        "milestones": [{"key": m.key, "days": m.days, "reached_on": m.reached_on.isoformat()} for m in reached],
        "next_milestone_on": (d.isoformat() if (d := next_milestone_on(start, frozenset(m.key for m in reached),
                                                                        today)) else None),
    }
