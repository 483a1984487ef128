"""The newest lines of a participant's timeline, newest first, for the console's participant page.

The paged ``/timeline`` reads oldest first (a cursor moves forward); a page that opens on what
happened lately would otherwise read every page first. Staff only, audited like the timeline.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.monitoring.projections.timeline import cursor_of
from shared.access_audit import AccessAudit
from shared.auth import Principal
from shared.minimum_necessary import record_staff
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1", tags=["monitoring"])


@router.get("/participants/{participant_id}/timeline/latest")
async def latest_timeline(
    participant_id: UUID,
    limit: int = Query(15, ge=1, le=100),
    caller: Principal = Depends(record_staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The newest timeline lines, newest first (another agency's participant: none)."""
    rows = await rt.pool.fetch(
        "SELECT seq, event_id, event_type, source, occurred_at, summary FROM timeline WHERE participant_id = $1"
        " AND agency_id = $2 ORDER BY occurred_at DESC, seq DESC LIMIT $3",
        participant_id, caller.agency_id, limit,
    )
    if rows:
        await AccessAudit(rt.pool, caller)("read timeline", participant_id)
    entries = [
        {"cursor": cursor_of(r["occurred_at"], r["seq"]), "event_id": str(r["event_id"]), "type": r["event_type"],
         "service": r["source"], "occurred_at": r["occurred_at"].isoformat(), "summary": r["summary"]}
        for r in rows
    ]
    return {"participant_id": str(participant_id), "entries": entries}
