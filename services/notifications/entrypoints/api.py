"""Notifications HTTP API: the staff inbox, acknowledgements, preferences, subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import views
from services.notifications.adapters import repository
from services.notifications.application import commands
from services.notifications.domain.alerts import AcknowledgeAlert
from services.notifications.domain.directory import SetAgencyStaff
from services.notifications.domain.preferences import PreferenceChoices, SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription, DeactivateWebhookSubscription
from shared import access_audit, minimum_necessary
from shared.auth import AuthError, Principal
from shared.domain import InvalidCommand
from shared.egress import EgressPolicy, EgressRefused
from shared.http import principal
from shared.limits import MAX_ID_LENGTH
from shared.paging import Page, page
from shared.roles import admin_or_integration, agency_admin, managers, staff
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")

@router.get("/notifications")
async def list_notifications(
    unacknowledged: bool = Query(False, description="only alerts still waiting for an acknowledgement"),
    paged: Page = Depends(page),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The caller's in-app inbox, newest first, paged (an audited read: it names participants)."""
    found, next_offset = paged.cut(
        await views.inbox(rt.pool, caller.agency_id, caller.sub, unacknowledged, paged.fetch, paged.offset)
    )
    await access_audit.record(rt.pool, agency_id=caller.agency_id, actor=caller.sub, action="read inbox",
                              participant_ids=sorted({UUID(n["participant_id"]) for n in found}, key=str))
    return {"notifications": found, "next_offset": next_offset}


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge_alert(
    alert_id: UUID, request: Request, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    """Acknowledge an alert addressed to the caller (403 for somebody else's, 404 if unknown)."""
    command = AcknowledgeAlert(alert_id=alert_id, acknowledged_by=caller.sub)
    return await rt.run(commands.acknowledge_alert, command, request, caller)


async def _participant_of_agency(rt: Runtime, caller: Principal, recipient_id: str) -> UUID | None:
    """``recipient_id`` as a participant of the caller's agency (from the directory), else None."""
    try:
        participant_id = UUID(recipient_id)
    except ValueError:
        return None  # staff are named by their token's sub
    async with rt.pool.acquire() as conn:
        record = await repository.load_record(conn, participant_id)
    return participant_id if record is not None and record.agency_id == caller.agency_id else None


async def _may_configure(rt: Runtime, caller: Principal, recipient_id: str, reading: bool) -> UUID | None:
    """Who may see or change a recipient's preferences (an e-mail address among them): the
    recipient; staff for a participant of their agency; only an agency admin for staff (and for
    anyone the directory does not know as a participant). A read of someone else's is audited
    (also when refused). Returns the participant concerned, if any."""
    if caller.sub == recipient_id:
        return None
    participant_id = await _participant_of_agency(rt, caller, recipient_id)
    allowed = caller.has_any("agency_admin") or (
        participant_id is not None and caller.has_any("specialist", "supervisor")
    )
    whose = "participant" if participant_id is not None else f"staff member {recipient_id}"
    if reading or not allowed:
        verb = "read" if reading else "change"
        action = f"{verb} preferences of {whose}" if allowed else f"refused attempt: {verb} preferences of {whose}"
        await access_audit.record(rt.pool, agency_id=caller.agency_id, actor=caller.sub, action=action,
                                  participant_ids=[participant_id])
    if not allowed:
        raise AuthError(
            "staff may set a participant's preferences; only an agency admin may set staff's", status=403
        )
    return participant_id


@router.put("/recipients/{recipient_id}/preferences")
async def put_preferences(
    body: PreferenceChoices,
    request: Request,
    recipient_id: str = Path(max_length=MAX_ID_LENGTH),
    caller: Principal = Depends(principal),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """How a recipient is reached: email address, channels, quiet hours and time zone."""
    await _may_configure(rt, caller, recipient_id, reading=False)
    command = SetPreferences(recipient_id=recipient_id, **body.model_dump())
    return await rt.run(commands.set_preferences, command, request, caller)


@router.get("/recipients/{recipient_id}/preferences")
async def get_preferences(
    request: Request,
    recipient_id: str = Path(max_length=MAX_ID_LENGTH), caller: Principal = Depends(principal),
    rt: Runtime = Depends(runtime),
    _reason: str | None = Header(None, alias=minimum_necessary.REASON_HEADER, max_length=512,
                                 description=f"break the glass: {minimum_necessary.REASON_FORMAT}"),
) -> dict[str, Any]:
    """A recipient's preferences. A participant's (their e-mail address among them) is part of their
    record: staff off their caseload break the glass (shared.minimum_necessary)."""
    if caller.sub != recipient_id and (participant_id := await _participant_of_agency(rt, caller, recipient_id)):
        await minimum_necessary.enforce(request, caller, participant_id)
    await _may_configure(rt, caller, recipient_id, reading=True)
    return await views.preferences(rt.pool, caller.agency_id, recipient_id)


@router.post("/webhook-subscriptions", status_code=201)
async def create_webhook_subscription(
    body: CreateWebhookSubscription, request: Request, caller: Principal = Depends(admin_or_integration),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Subscribe a partner endpoint to event types of the caller's agency; the secret is shown once.

    The URL's host must resolve to public addresses only (or to a network in
    ``NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS``); checked again before every delivery."""
    egress: EgressPolicy = request.app.state.notification_settings.egress_policy
    try:
        await egress.check_url(body.url)
    except EgressRefused as refused:
        raise InvalidCommand(str(refused), field="url") from None
    return await rt.run(commands.create_subscription, body, request, caller)


@router.get("/webhook-subscriptions")
async def list_webhook_subscriptions(
    paged: Page = Depends(page), caller: Principal = Depends(admin_or_integration), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    found, next_offset = paged.cut(
        await views.subscriptions(rt.pool, caller.agency_id, limit=paged.fetch, offset=paged.offset)
    )
    return {"subscriptions": found, "next_offset": next_offset}


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=204)
async def delete_webhook_subscription(
    subscription_id: UUID, request: Request, caller: Principal = Depends(admin_or_integration),
    rt: Runtime = Depends(runtime),
) -> Response:
    command = DeactivateWebhookSubscription(subscription_id=subscription_id)
    await rt.run(commands.deactivate_subscription, command, request, caller)
    return Response(status_code=204)


class AgencyStaffBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    supervisor_id: str | None = Field(default=None, min_length=1, max_length=200)
    agency_admin_id: str | None = Field(default=None, min_length=1, max_length=200)


@router.put("/agency-staff", status_code=204)
async def put_agency_staff(
    body: AgencyStaffBody, request: Request, caller: Principal = Depends(agency_admin),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Who supervises the agency's caseloads and who is its admin (the top of the ladder)."""
    command = SetAgencyStaff(supervisor_id=body.supervisor_id, agency_admin_id=body.agency_admin_id)
    await rt.run(commands.set_agency_staff, command, request, caller)
    return Response(status_code=204)


@router.get("/agency-staff")
async def get_agency_staff(caller: Principal = Depends(managers), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """The agency's supervisor and admin as the alert ladder uses them (supervisors and admins)."""
    return await views.agency_staff(rt.pool, caller.agency_id)


AGENCY_ALERTS = """
SELECT alert_id, participant_id, recipient_id, recipient_role, addressed_to, rule, urgency, raised_at,
       acknowledge_by, acknowledged_at, acknowledged_by
FROM alerts
WHERE agency_id = $1 AND ($2::boolean IS FALSE OR acknowledged_at IS NULL)
  AND ($3::text IS NULL OR urgency = $3)
  AND ($4::timestamptz IS NULL OR (raised_at, alert_id) < ($4, $5::uuid))
ORDER BY raised_at DESC, alert_id DESC LIMIT $6
"""


def _alert_cursor(raised_at: datetime, alert_id: UUID) -> str:
    return f"{raised_at.astimezone(UTC).isoformat()}~{alert_id}"


def _parse_alert_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        moment, _, alert_id = cursor.partition("~")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None:
            raise ValueError(cursor)
        return at, UUID(alert_id)
    except ValueError:
        raise InvalidCommand("not a cursor returned by this endpoint", field="before") from None


@router.get("/alerts")
async def list_agency_alerts(
    open_only: bool = Query(True, alias="open", description="only alerts nobody has acknowledged yet"),
    urgency: Literal["urgent", "routine"] | None = Query(None),
    before: str | None = Query(None, max_length=100, description="cursor of the last alert already seen"),
    limit: int = Query(50, ge=1, le=500),
    caller: Principal = Depends(managers),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The agency's alerts, newest first (supervisors and admins keeping the team safe): who it is
    addressed to now, when it was raised, when it escalates, and its acknowledgement. An audited
    read, like the inbox: it names participants."""
    at, alert_id = _parse_alert_cursor(before) if before else (None, None)
    rows = await rt.pool.fetch(AGENCY_ALERTS, caller.agency_id, open_only, urgency, at, alert_id, limit)
    await access_audit.record(rt.pool, agency_id=caller.agency_id, actor=caller.sub, action="read agency alerts",
                              participant_ids=sorted({r["participant_id"] for r in rows}, key=str))
    alerts = [
        {
            "cursor": _alert_cursor(r["raised_at"], r["alert_id"]),
            "alert_id": str(r["alert_id"]),
            "participant_id": str(r["participant_id"]),
            "rule": r["rule"],
            "urgency": r["urgency"],
            "urgent": r["urgency"] == "urgent",
            "recipient_id": r["recipient_id"],
            "recipient_role": r["recipient_role"],
            "addressed_to": list(r["addressed_to"]),
            "raised_at": r["raised_at"].isoformat(),
            "acknowledge_by": r["acknowledge_by"].isoformat() if r["acknowledge_by"] else None,
            "acknowledged_at": r["acknowledged_at"].isoformat() if r["acknowledged_at"] else None,
            "acknowledged_by": r["acknowledged_by"],
        }
        for r in rows
    ]
    return {"alerts": alerts, "next_before": alerts[-1]["cursor"] if len(alerts) == limit else None}


@router.get("/participants/{participant_id}/access-log")
async def get_access_log(
    participant_id: UUID, caller: Principal = Depends(managers), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    """Who read this participant's data in notifications (inbox, alerts, preferences), newest first
    (supervisors and agency admins)."""
    entries = await access_audit.read(rt.pool, agency_id=caller.agency_id, participant_id=participant_id)
    if entries:  # the log is about the participant too: reading it is recorded (as elsewhere)
        await access_audit.record(rt.pool, agency_id=caller.agency_id, actor=caller.sub, action="read access log",
                                  participant_ids=[participant_id])
    return {"participant_id": str(participant_id), "access_log": entries}
