"""Planning HTTP API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends

from shared.auth import Principal
from shared.domain import NotFound
from shared.http import require_roles
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")
staff = require_roles("specialist", "supervisor", "agency_admin")


@router.get("/participants/{participant_id}/plan")
async def get_plan(
    participant_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    row = await rt.pool.fetchrow(
        "SELECT plan_id, version, status, content::text AS content, updated_at FROM plans"
        " WHERE participant_id = $1 AND agency_id = $2",
        participant_id, caller.agency_id,
    )
    if row is None:
        raise NotFound("no plan for this participant")
    return {
        "participant_id": str(participant_id), "plan_id": str(row["plan_id"]), "version": row["version"],
        "status": row["status"], "content": orjson.loads(row["content"]),
        "updated_at": row["updated_at"].isoformat(),
    }
