"""Monitoring HTTP API for a participant's page: days in recovery and milestones, the check-in
series (craving and mood over time) and the risk level history with its reasons.

Every read is scoped to the caller's agency (another agency's participant is a 404, like one that
does not exist) and recorded in the access audit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query

from services.monitoring import views
from services.monitoring.application import handlers
from services.monitoring.domain.milestones import Milestone
from services.monitoring.domain.recovery import recovery_progress
from shared.domain import InvalidCommand, NotFound
from shared.limits import MAX_PAGE_SIZE
from shared.routes import Call, SelfOrStaffRecordCall, StaffRecordCall
from shared.time_zones import local_date

router = APIRouter(prefix="/v1", tags=["monitoring"])


def _milestone(m: Milestone) -> dict[str, Any]:
    return {"milestone": m.key, "days": m.days, "reached_on": m.reached_on.isoformat()}


async def _must_know(call: Call, participant_id: UUID) -> None:
    if not await views.known(call.pool, participant_id, call.agency_id):
        raise NotFound("participant is not known to monitoring", field="participant_id")


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidCommand(f"{field} needs a time zone, e.g. 2026-03-02T09:00:00Z", field=field)
    return value


@router.get("/participants/{participant_id}/recovery")
async def get_recovery(participant_id: UUID, call: SelfOrStaffRecordCall) -> dict[str, Any]:
    """Days in recovery, milestones reached in the current count and the next one, counted on the
    participant's own calendar (their time zone). The participant themself or their agency's staff."""
    async with call.uow() as uow:
        state = await handlers.read_monitor(uow, participant_id)
        await call.audit("read recovery progress", participant_id, conn=uow.conn)
    today = local_date(call.now(), state.time_zone)
    progress = recovery_progress(state.count_start, today)
    return {
        "participant_id": str(participant_id),
        "active": state.active,
        "time_zone": state.time_zone,
        "today": today.isoformat(),
        "counting_from": progress.counting_from.isoformat() if progress.counting_from else None,
        "days_in_recovery": progress.days_in_recovery,
        "milestones_reached": [_milestone(m) for m in progress.reached],
        "next_milestone": _milestone(progress.next) if progress.next else None,
    }


@router.get("/participants/{participant_id}/check-ins")
async def list_check_ins(
    participant_id: UUID,
    call: SelfOrStaffRecordCall,
    since: datetime | None = Query(None, description="only check-ins at or after this instant (ISO 8601, with zone)"),
    until: datetime | None = Query(None, description="only check-ins before this instant"),
    after: str | None = Query(None, max_length=64, description="cursor of the last check-in already seen"),
    limit: int = Query(200, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """Completed check-ins, oldest first (craving 0-10, mood 1-5, use): the data of the craving and
    mood chart. Free-text notes are not here (see private notes). Paged with ``next_after``."""
    await _must_know(call, participant_id)
    try:
        rows = await views.check_in_series(
            call.pool, participant_id, call.agency_id, since=_aware(since, "since"), until=_aware(until, "until"),
            after=after, limit=limit,
        )
    except ValueError:
        raise InvalidCommand("not a cursor returned by this endpoint", field="after") from None
    await call.audit("read check-ins", participant_id)
    return {
        "participant_id": str(participant_id),
        "check_ins": rows,
        "next_after": rows[-1]["cursor"] if len(rows) == limit else None,
    }


@router.get("/participants/{participant_id}/risk-history")
async def get_risk_history(
    participant_id: UUID,
    call: StaffRecordCall,
    before: str | None = Query(None, max_length=64, description="cursor of the last change already seen"),
    limit: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """Every change of the participant's risk level with its reasons, newest first: intake's
    (``RiskLevelChanged``, from an assessment) and monitoring's (``RiskEscalated``, from check-ins,
    missed check-ins or a help request). ``current_risk_level`` is the level in force now
    (``assessed`` false: no assessment yet, the level is the starting default)."""
    await _must_know(call, participant_id)
    try:
        changes = await views.risk_history(call.pool, participant_id, call.agency_id, before=before, limit=limit)
    except ValueError:
        raise InvalidCommand("not a cursor returned by this endpoint", field="before") from None
    current = await views.current_risk(call.pool, participant_id, call.agency_id)
    await call.audit("read risk history", participant_id)
    return {
        "participant_id": str(participant_id),
        **current,
        "changes": changes,
        "next_before": changes[-1]["cursor"] if len(changes) == limit else None,
    }
