"""The newest lines of a participant's timeline, newest first, for the console's participant page.

The paged ``/timeline`` reads oldest first (a cursor moves forward); a page that opens on what
happened lately would otherwise read every page first. Staff only, audited like the timeline.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query

from services.monitoring import views
from shared.routes import StaffRecordCall

router = APIRouter(prefix="/v1", tags=["monitoring"])


@router.get("/participants/{participant_id}/timeline/latest")
async def latest_timeline(
    participant_id: UUID, call: StaffRecordCall, limit: int = Query(15, ge=1, le=100)
) -> dict[str, Any]:
    """The newest timeline lines, newest first (another agency's participant: none)."""
    entries = await views.latest_timeline(call.pool, participant_id, call.agency_id, limit)
    if entries:
        await call.audit("read timeline", participant_id)
    return {"participant_id": str(participant_id), "entries": entries}
