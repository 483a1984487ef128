"""Notifications HTTP API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from shared.auth import Principal
from shared.http import require_roles
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")
staff = require_roles("specialist", "supervisor", "agency_admin")


@router.get("/notifications")
async def list_notifications(
    limit: int = Query(100, ge=1, le=500), caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    rows = await rt.pool.fetch(
        "SELECT notification_id, participant_id, recipient_role, channel, rule, urgent, subject, body,"
        " cause_event_id, created_at, acknowledged_at FROM notifications"
        " WHERE agency_id = $1 AND recipient_id = $2 ORDER BY created_at DESC LIMIT $3",
        caller.agency_id, caller.sub, limit,
    )
    return {"notifications": [
        {"notification_id": str(r["notification_id"]), "participant_id": str(r["participant_id"]),
         "recipient_role": r["recipient_role"], "channel": r["channel"], "rule": r["rule"],
         "urgent": r["urgent"], "subject": r["subject"], "body": r["body"],
         "cause_event_id": str(r["cause_event_id"]), "created_at": r["created_at"].isoformat(),
         "acknowledged_at": r["acknowledged_at"].isoformat() if r["acknowledged_at"] else None}
        for r in rows
    ]}
