"""Notifications HTTP API: the staff inbox, acknowledgements, preferences, subscriptions."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import views
from services.notifications.adapters import repository
from services.notifications.application import commands
from services.notifications.domain.alerts import AcknowledgeAlert
from services.notifications.domain.directory import SetAgencyStaff
from services.notifications.domain.preferences import PreferenceChoices, SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription, DeactivateWebhookSubscription
from services.notifications.settings import NotificationSettings
from shared import minimum_necessary
from shared.auth import AuthError
from shared.domain import InvalidCommand
from shared.egress import EgressPolicy, EgressRefused
from shared.limits import MAX_ID_LENGTH
from shared.paging import Page, page
from shared.routes import AdminCall, AdminOrIntegrationCall, AnyCall, Call, ManagerCall, StaffCall

router = APIRouter(prefix="/v1")

@router.get("/notifications")
async def list_notifications(
    call: StaffCall,
    unacknowledged: bool = Query(False, description="only alerts still waiting for an acknowledgement"),
    paged: Page = Depends(page),
) -> dict[str, Any]:
    """The caller's in-app inbox, newest first, paged (an audited read: it names participants)."""
    found, next_offset = paged.cut(
        await views.inbox(call.pool, call.agency_id, call.caller.sub, unacknowledged, paged.fetch, paged.offset)
    )
    await call.audit("read inbox", *sorted({UUID(n["participant_id"]) for n in found}, key=str))
    return {"notifications": found, "next_offset": next_offset}


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge_alert(alert_id: UUID, call: StaffCall) -> dict[str, Any]:
    """Acknowledge an alert addressed to the caller (403 for somebody else's, 404 if unknown)."""
    command = AcknowledgeAlert(alert_id=alert_id, acknowledged_by=call.caller.sub)
    return await call.run(commands.acknowledge_alert, command)


async def _participant_of_agency(call: Call, recipient_id: str) -> UUID | None:
    """``recipient_id`` as a participant of the caller's agency (from the directory), else None."""
    try:
        participant_id = UUID(recipient_id)
    except ValueError:
        return None  # staff are named by their token's sub
    async with call.pool.acquire() as conn:
        record = await repository.load_record(conn, participant_id)
    return participant_id if record is not None and record.agency_id == call.agency_id else None


async def _may_configure(call: Call, recipient_id: str, reading: bool) -> UUID | None:
    """Who may see or change a recipient's preferences (an e-mail address among them): the
    recipient; staff for a participant of their agency; only an agency admin for staff (and for
    anyone the directory does not know as a participant). A read of someone else's is audited
    (also when refused). Returns the participant concerned, if any."""
    caller = call.caller
    if caller.sub == recipient_id:
        return None
    participant_id = await _participant_of_agency(call, recipient_id)
    allowed = caller.has_any("agency_admin") or (
        participant_id is not None and caller.has_any("specialist", "supervisor")
    )
    whose = "participant" if participant_id is not None else f"staff member {recipient_id}"
    if reading or not allowed:
        verb = "read" if reading else "change"
        action = f"{verb} preferences of {whose}" if allowed else f"refused attempt: {verb} preferences of {whose}"
        await call.audit(action, participant_id)
    if not allowed:
        raise AuthError(
            "staff may set a participant's preferences; only an agency admin may set staff's", status=403
        )
    return participant_id


@router.put("/recipients/{recipient_id}/preferences")
async def put_preferences(
    body: PreferenceChoices, call: AnyCall, recipient_id: str = Path(max_length=MAX_ID_LENGTH)
) -> dict[str, Any]:
    """How a recipient is reached: email address, channels, quiet hours and time zone."""
    await _may_configure(call, recipient_id, reading=False)
    command = SetPreferences(recipient_id=recipient_id, **body.model_dump())
    return await call.run(commands.set_preferences, command)


@router.get("/recipients/{recipient_id}/preferences")
async def get_preferences(
    call: AnyCall, recipient_id: str = Path(max_length=MAX_ID_LENGTH),
    _reason: str | None = Header(None, alias=minimum_necessary.REASON_HEADER, max_length=512,
                                 description=f"break the glass: {minimum_necessary.REASON_FORMAT}"),
) -> dict[str, Any]:
    """A recipient's preferences. A participant's (their e-mail address among them) is part of their
    record: staff off their caseload break the glass (shared.minimum_necessary)."""
    if call.caller.sub != recipient_id and (participant_id := await _participant_of_agency(call, recipient_id)):
        try:
            await minimum_necessary.enforce(call.request, call.caller, participant_id)
        except minimum_necessary.BreakTheGlassRequired:
            await call.audit("refused read attempt (403): read preferences of participant", participant_id)
            raise
    await _may_configure(call, recipient_id, reading=True)
    return await views.preferences(call.pool, call.agency_id, recipient_id, call.keys)


@router.post("/webhook-subscriptions", status_code=201)
async def create_webhook_subscription(body: CreateWebhookSubscription, call: AdminOrIntegrationCall) -> dict[str, Any]:
    """Subscribe a partner endpoint to event types of the caller's agency; the secret is shown once.

    The URL's host must resolve to public addresses only (or to a network in
    ``NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS``); checked again before every delivery."""
    egress: EgressPolicy = call.rt.part(NotificationSettings).egress_policy
    try:
        await egress.check_url(body.url)
    except EgressRefused as refused:
        raise InvalidCommand(str(refused), field="url") from None
    return await call.run(commands.create_subscription, body)


@router.get("/webhook-subscriptions")
async def list_webhook_subscriptions(call: AdminOrIntegrationCall, paged: Page = Depends(page)) -> dict[str, Any]:
    found, next_offset = paged.cut(
        await views.subscriptions(call.pool, call.agency_id, limit=paged.fetch, offset=paged.offset)
    )
    return {"subscriptions": found, "next_offset": next_offset}


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=204)
async def delete_webhook_subscription(subscription_id: UUID, call: AdminOrIntegrationCall) -> Response:
    await call.run(commands.deactivate_subscription, DeactivateWebhookSubscription(subscription_id=subscription_id))
    return Response(status_code=204)


class AgencyStaffBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    supervisor_id: str | None = Field(default=None, min_length=1, max_length=200)
    agency_admin_id: str | None = Field(default=None, min_length=1, max_length=200)


@router.put("/agency-staff", status_code=204)
async def put_agency_staff(body: AgencyStaffBody, call: AdminCall) -> Response:
    """Who supervises the agency's caseloads and who is its admin (the top of the ladder)."""
    command = SetAgencyStaff(supervisor_id=body.supervisor_id, agency_admin_id=body.agency_admin_id)
    await call.run(commands.set_agency_staff, command)
    return Response(status_code=204)


@router.get("/agency-staff")
async def get_agency_staff(call: ManagerCall) -> dict[str, Any]:
    """The agency's supervisor and admin as the alert ladder uses them (supervisors and admins)."""
    return await views.agency_staff(call.pool, call.agency_id)


@router.get("/alerts")
async def list_agency_alerts(
    call: ManagerCall,
    open_only: bool = Query(True, alias="open", description="only alerts nobody has acknowledged yet"),
    urgency: Literal["urgent", "routine"] | None = Query(None),
    before: str | None = Query(None, max_length=100, description="cursor of the last alert already seen"),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The agency's alerts, newest first (supervisors and admins keeping the team safe): who it is
    addressed to now, when it was raised, when it escalates, and its acknowledgement. An audited
    read, like the inbox: it names participants."""
    alerts = await views.agency_alerts(
        call.pool, call.agency_id, open_only=open_only, urgency=urgency, before=before, limit=limit
    )
    await call.audit("read agency alerts", *sorted({UUID(a["participant_id"]) for a in alerts}, key=str))
    return {"alerts": alerts, "next_before": alerts[-1]["cursor"] if len(alerts) == limit else None}


@router.get("/participants/{participant_id}/access-log")
async def get_access_log(participant_id: UUID, call: ManagerCall, paged: Page = Depends(page)) -> dict[str, Any]:
    """Who read this participant's data in notifications (inbox, alerts, preferences), newest first
    (supervisors and agency admins)."""
    return await call.access_log(participant_id, paged)
