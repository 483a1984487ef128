"""Monitoring HTTP API: schedules, check-ins, SOS, relapses, contacts, timeline, caseload, overview."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import StringConstraints

from services.monitoring.adapters import private_texts
from services.monitoring.application import handlers
from services.monitoring.application.check_in_writer import CheckInWriter
from services.monitoring.application.handlers import CheckInOrder
from services.monitoring.domain.checkin import CheckInAnswers
from services.monitoring.domain.commands import (
    CheckInScheduleChoice,
    ContactReport,
    HelpRequest,
    LogContact,
    RelapseReport,
    ReportRelapse,
    RequestHelp,
    SetCheckInSchedule,
)
from services.monitoring.domain.durations import format_duration
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.projections import caseload, overview, timeline
from shared import access_audit
from shared.access_audit import AccessAudit, auditor
from shared.auth import AuthError, Principal
from shared.catalogue.monitoring import RiskEscalated
from shared.domain import InvalidCommand, NotFound
from shared.http import principal, require_roles
from shared.limits import MAX_BIGINT, MAX_ID_LENGTH
from shared.minimum_necessary import record_reader, record_staff
from shared.paging import Page, page
from shared.roles import STAFF, managers, staff
from shared.runtime import Runtime, command_metadata, runtime

router = APIRouter(prefix="/v1")


async def self_or_staff(participant_id: UUID, caller: Principal = Depends(principal)) -> Principal:
    """Staff of the agency, or the participant acting for themselves (token ``sub`` = participant id)."""
    if caller.has_any(*STAFF) or (caller.has_any("participant") and caller.sub == str(participant_id)):
        return caller
    raise AuthError("only the participant themselves or their agency's staff", status=403)


#: the participant themselves, or staff held to the caseload (shared.minimum_necessary)
record_self_or_staff = record_reader(self_or_staff)
#: private notes: the participant's specialist, a supervisor, another specialist by breaking the glass; never admins
record_notes_readers = record_reader(require_roles("specialist", "supervisor"))


def _schedule(state: MonitorState) -> dict[str, Any]:
    s = state.schedule
    if s is None:
        return {"active": state.active}
    return {
        "active": state.active,
        "interval": format_duration(s.cadence.interval),
        "grace": format_duration(s.cadence.grace),
        "basis": s.basis,
        "risk_level": state.risk_level,
        "next_due_at": s.next_due_at.isoformat(),
        "deadline": s.deadline.isoformat(),
        "consecutive_misses": state.consecutive_misses,
    }


@router.put("/participants/{participant_id}/check-in-schedule")
async def set_check_in_schedule(
    participant_id: UUID,
    body: CheckInScheduleChoice,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    cmd = SetCheckInSchedule(participant_id=participant_id, interval=body.interval, grace=body.grace)
    return _schedule(await rt.run(handlers.set_check_in_schedule, cmd, request, caller))


@router.get("/participants/{participant_id}/check-in-schedule")
async def get_check_in_schedule(
    participant_id: UUID,
    request: Request,
    caller: Principal = Depends(record_self_or_staff),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    async with rt.uow(command_metadata(request, caller), agency_id=caller.agency_id) as uow:
        state = await handlers.read_monitor(uow, participant_id)
        await audit("read check-in schedule", participant_id, conn=uow.conn)
    return _schedule(state)


@router.post("/participants/{participant_id}/check-ins", status_code=status.HTTP_201_CREATED)
async def record_check_in(
    participant_id: UUID,
    body: CheckInAnswers,
    request: Request,
    caller: Principal = Depends(self_or_staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    writer: CheckInWriter = rt.extras["check_ins"]
    order = CheckInOrder(participant_id, caller.agency_id, body, command_metadata(request, caller), rt.clock())
    recorded = await writer.submit(order)  # returns once committed (group commit, see CheckInWriter)
    state = recorded.state
    escalations = [e for e in recorded.events if isinstance(e, RiskEscalated)]
    return {
        "check_in_id": str(recorded.check_in_id),
        "risk_level": state.risk_level,
        "escalated": bool(escalations),
        "reasons": [r.detail for e in escalations for r in e.reasons],
        "next_due_at": state.schedule.next_due_at.isoformat() if state.schedule else None,
    }


@router.post("/participants/{participant_id}/help-requests", status_code=status.HTTP_201_CREATED)
async def request_help(
    participant_id: UUID,
    body: HelpRequest,
    request: Request,
    caller: Principal = Depends(self_or_staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    cmd = RequestHelp(participant_id=participant_id, help_request_id=uuid4(), **dict(body))
    return {"help_request_id": str(await rt.run(handlers.request_help, cmd, request, caller))}


@router.post("/participants/{participant_id}/relapses", status_code=status.HTTP_201_CREATED)
async def report_relapse(
    participant_id: UUID,
    body: RelapseReport,
    request: Request,
    caller: Principal = Depends(self_or_staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    by = "specialist" if caller.has_any(*STAFF) else "participant"
    cmd = ReportRelapse(participant_id=participant_id, relapse_id=uuid4(), reported_by=by, **dict(body))
    return {"relapse_id": str(await rt.run(handlers.report_relapse, cmd, request, caller))}


@router.post("/participants/{participant_id}/contacts", status_code=status.HTTP_201_CREATED)
async def log_contact(
    participant_id: UUID,
    body: ContactReport,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    cmd = LogContact(participant_id=participant_id, contact_id=uuid4(), specialist_id=caller.sub, **dict(body))
    return {"contact_id": str(await rt.run(handlers.log_contact, cmd, request, caller))}


@router.get("/participants/{participant_id}/timeline")
async def get_timeline(
    participant_id: UUID,
    after: str | None = Query(None, max_length=64, description="cursor of the last entry already seen"),
    limit: int = Query(100, ge=1, le=500),
    service: list[Literal["intake", "planning", "monitoring", "notifications"]] | None = Query(
        None, description="only entries of these services (repeat the parameter for several)"
    ),
    event_type: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{1,64}$")]] | None = Query(
        None, alias="type", max_length=20, description="only entries of these event types, e.g. ContactLogged"
    ),
    caller: Principal = Depends(record_staff),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    try:
        entries = await timeline.page(
            rt.pool, participant_id, caller.agency_id, after=after, limit=limit,
            services=list(service) if service else None, event_types=event_type,
        )
    except ValueError:
        raise InvalidCommand("not a cursor returned by this endpoint", field="after") from None
    if entries:
        await audit("read timeline", participant_id)
    next_after = entries[-1]["cursor"] if len(entries) == limit else None
    return {"participant_id": str(participant_id), "entries": entries, "next_after": next_after}


@router.get("/caseload")
async def get_caseload(
    specialist_id: str | None = Query(None, max_length=MAX_ID_LENGTH,
                                      description="whose caseload (default: the calling specialist)"),
    whole_agency: bool = Query(False, description="supervisors and admins: every participant of the agency"),
    limit: int = Query(200, ge=1, le=1000),
    caller: Principal = Depends(staff),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    manager = caller.has_any("supervisor", "agency_admin")
    if (whole_agency or (specialist_id and specialist_id != caller.sub)) and not manager:
        raise AuthError("only supervisors see another specialist's caseload", status=403)
    whose = None if whole_agency else (specialist_id or caller.sub)
    rows = await caseload.ranked(rt.pool, caller.agency_id, whose, rt.clock(), limit)
    await audit("read caseload", *[UUID(r["participant_id"]) for r in rows])
    return {"specialist_id": whose, "participants": rows}


@router.get("/overview")
async def get_overview(caller: Principal = Depends(managers), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    return await overview.overview(rt.pool, caller.agency_id, rt.clock().date())


@router.get("/participants/{participant_id}/private-notes")
async def get_private_notes(
    participant_id: UUID,
    kind: private_texts.Kind | None = Query(None, description="only texts of this kind"),
    ref_id: UUID | None = Query(None, description="only the texts of one check-in, SOS, relapse or contact"),
    before: int | None = Query(None, ge=1, le=MAX_BIGINT, description="the id of the last text already seen"),
    limit: int = Query(100, ge=1, le=500),
    caller: Principal = Depends(record_notes_readers),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The free text kept out of events, for the participant's own specialist and supervisors
    (minimum necessary: another specialist only by breaking the glass, agency admins never). Audited."""
    known, _ = await private_texts.assigned_specialist(rt.pool, participant_id, caller.agency_id)
    if not known:
        raise NotFound("participant is not known to monitoring", field="participant_id")
    texts = await private_texts.read(
        rt.pool, participant_id, caller.agency_id, kind=kind, ref_id=ref_id, before=before, limit=limit
    )
    await audit("read private notes", participant_id)
    return {
        "participant_id": str(participant_id),
        "texts": texts,
        "next_before": texts[-1]["id"] if len(texts) == limit else None,
    }


@router.get("/participants/{participant_id}/access-log")
async def get_access_log(
    participant_id: UUID,
    paged: Page = Depends(page),
    caller: Principal = Depends(managers),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Who read this participant's monitoring data, newest first (supervisors and admins)."""
    entries, next_offset = paged.cut(await access_audit.read(
        rt.pool, agency_id=caller.agency_id, participant_id=participant_id, limit=paged.fetch, offset=paged.offset
    ))
    if entries:  # the log is about the participant too: reading it is recorded (as in intake)
        await audit("read access log", participant_id)
    return {"participant_id": str(participant_id), "access_log": entries, "next_offset": next_offset}
