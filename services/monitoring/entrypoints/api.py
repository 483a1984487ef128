"""Monitoring HTTP API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.monitoring.projections import timeline
from shared.auth import Principal
from shared.http import require_roles
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")
staff = require_roles("specialist", "supervisor", "agency_admin")


@router.get("/participants/{participant_id}/timeline")
async def get_timeline(
    participant_id: UUID,
    after: int = Query(0, ge=0, description="position of the last entry already seen"),
    limit: int = Query(100, ge=1, le=500),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    entries = await timeline.page(rt.pool, participant_id, caller.agency_id, after=after, limit=limit)
    next_after = entries[-1]["position"] if len(entries) == limit else None
    return {"participant_id": str(participant_id), "entries": entries, "next_after": next_after}
