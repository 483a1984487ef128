"""Monitoring HTTP API: schedules, check-ins, SOS, relapses, contacts, timeline, caseload, overview."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, status
from pydantic import StringConstraints

from services.monitoring import views
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
from shared.auth import AuthError
from shared.catalogue.monitoring import RiskEscalated
from shared.domain import InvalidCommand, NotFound
from shared.http import require_roles
from shared.limits import MAX_BIGINT, MAX_ID_LENGTH
from shared.minimum_necessary import record_reader
from shared.paging import Page, page
from shared.roles import STAFF
from shared.routes import Call, ManagerCall, SelfOrStaffCall, SelfOrStaffRecordCall, StaffCall, StaffRecordCall, call_of
from shared.runtime import command_metadata

router = APIRouter(prefix="/v1")
#: private notes: the participant's specialist, a supervisor, another specialist by breaking the glass;
#: agency admins never (shared.minimum_necessary)
NotesReaderCall = Annotated[Call, Depends(call_of(record_reader(require_roles("specialist", "supervisor"))))]


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
async def set_check_in_schedule(participant_id: UUID, body: CheckInScheduleChoice, call: StaffCall) -> dict[str, Any]:
    cmd = SetCheckInSchedule(participant_id=participant_id, interval=body.interval, grace=body.grace)
    return _schedule(await call.run(handlers.set_check_in_schedule, cmd))


@router.get("/participants/{participant_id}/check-in-schedule")
async def get_check_in_schedule(participant_id: UUID, call: SelfOrStaffRecordCall) -> dict[str, Any]:
    async with call.uow() as uow:
        state = await handlers.read_monitor(uow, participant_id)
        await call.audit("read check-in schedule", participant_id, conn=uow.conn)
    return _schedule(state)


@router.post("/participants/{participant_id}/check-ins", status_code=status.HTTP_201_CREATED)
async def record_check_in(participant_id: UUID, body: CheckInAnswers, call: SelfOrStaffCall) -> dict[str, Any]:
    metadata = command_metadata(call.request, call.caller)
    order = CheckInOrder(participant_id, call.agency_id, body, metadata, call.now())
    recorded = await call.rt.part(CheckInWriter).submit(order)  # once committed (group commit: CheckInWriter)
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
async def request_help(participant_id: UUID, body: HelpRequest, call: SelfOrStaffCall) -> dict[str, str]:
    cmd = RequestHelp(participant_id=participant_id, help_request_id=uuid4(), **dict(body))
    return {"help_request_id": str(await call.run(handlers.request_help, cmd))}


@router.post("/participants/{participant_id}/relapses", status_code=status.HTTP_201_CREATED)
async def report_relapse(participant_id: UUID, body: RelapseReport, call: SelfOrStaffCall) -> dict[str, str]:
    by = "specialist" if call.caller.has_any(*STAFF) else "participant"
    cmd = ReportRelapse(participant_id=participant_id, relapse_id=uuid4(), reported_by=by, **dict(body))
    return {"relapse_id": str(await call.run(handlers.report_relapse, cmd))}


@router.post("/participants/{participant_id}/contacts", status_code=status.HTTP_201_CREATED)
async def log_contact(participant_id: UUID, body: ContactReport, call: StaffCall) -> dict[str, str]:
    cmd = LogContact(participant_id=participant_id, contact_id=uuid4(), specialist_id=call.caller.sub, **dict(body))
    return {"contact_id": str(await call.run(handlers.log_contact, cmd))}


@router.get("/participants/{participant_id}/timeline")
async def get_timeline(
    participant_id: UUID,
    call: StaffRecordCall,
    after: str | None = Query(None, max_length=64, description="cursor of the last entry already seen"),
    limit: int = Query(100, ge=1, le=500),
    service: list[Literal["intake", "planning", "monitoring", "notifications"]] | None = Query(
        None, description="only entries of these services (repeat the parameter for several)"
    ),
    event_type: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{1,64}$")]] | None = Query(
        None, alias="type", max_length=20, description="only entries of these event types, e.g. ContactLogged"
    ),
) -> dict[str, Any]:
    try:
        entries = await views.timeline_page(
            call.pool, participant_id, call.agency_id, after=after, limit=limit,
            services=list(service) if service else None, event_types=event_type,
        )
    except ValueError:
        raise InvalidCommand("not a cursor returned by this endpoint", field="after") from None
    if entries:
        await call.audit("read timeline", participant_id)
    next_after = entries[-1]["cursor"] if len(entries) == limit else None
    return {"participant_id": str(participant_id), "entries": entries, "next_after": next_after}


@router.get("/caseload")
async def get_caseload(
    call: StaffCall,
    specialist_id: str | None = Query(None, max_length=MAX_ID_LENGTH,
                                      description="whose caseload (default: the calling specialist)"),
    whole_agency: bool = Query(False, description="supervisors and admins: every participant of the agency"),
    limit: int = Query(200, ge=1, le=1000),
) -> dict[str, Any]:
    caller = call.caller
    manager = caller.has_any("supervisor", "agency_admin")
    if (whole_agency or (specialist_id and specialist_id != caller.sub)) and not manager:
        raise AuthError("only supervisors see another specialist's caseload", status=403)
    whose = None if whole_agency else (specialist_id or caller.sub)
    rows = await views.caseload(call.pool, call.agency_id, whose, call.now(), limit)
    await call.audit("read caseload", *[UUID(r["participant_id"]) for r in rows])
    return {"specialist_id": whose, "participants": rows}


@router.get("/overview")
async def get_overview(call: ManagerCall) -> dict[str, Any]:
    return await views.overview(call.pool, call.agency_id, call.now().date())


@router.get("/participants/{participant_id}/private-notes")
async def get_private_notes(
    participant_id: UUID,
    call: NotesReaderCall,
    kind: views.Kind | None = Query(None, description="only texts of this kind"),
    ref_id: UUID | None = Query(None, description="only the texts of one check-in, SOS, relapse or contact"),
    before: int | None = Query(None, ge=1, le=MAX_BIGINT, description="the id of the last text already seen"),
    limit: int = Query(100, ge=1, le=500),
) -> dict[str, Any]:
    """The free text kept out of events, for the participant's own specialist and supervisors
    (minimum necessary: another specialist only by breaking the glass, agency admins never). Audited."""
    known, _ = await views.assigned_specialist(call.pool, participant_id, call.agency_id)
    if not known:
        raise NotFound("participant is not known to monitoring", field="participant_id")
    texts = await views.private_texts(
        call.pool, participant_id, call.agency_id, call.keys, kind=kind, ref_id=ref_id, before=before, limit=limit
    )
    await call.audit("read private notes", participant_id)
    return {
        "participant_id": str(participant_id),
        "texts": texts,
        "next_before": texts[-1]["id"] if len(texts) == limit else None,
    }


@router.get("/participants/{participant_id}/access-log")
async def get_access_log(participant_id: UUID, call: ManagerCall, paged: Page = Depends(page)) -> dict[str, Any]:
    """Who read this participant's monitoring data, newest first (supervisors and admins)."""
    return await call.access_log(participant_id, paged)
