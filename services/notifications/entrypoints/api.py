"""Notifications HTTP API: the staff inbox, acknowledgements, preferences, subscriptions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import views
from services.notifications.application import commands
from services.notifications.domain.alerts import AcknowledgeAlert
from services.notifications.domain.directory import SetAgencyStaff
from services.notifications.domain.preferences import PreferenceChoices, SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription, DeactivateWebhookSubscription
from shared.auth import AuthError, Principal
from shared.domain import InvalidCommand
from shared.egress import EgressPolicy, EgressRefused
from shared.http import principal
from shared.limits import MAX_ID_LENGTH
from shared.roles import admin_or_integration, agency_admin, managers, staff
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1")

@router.get("/notifications")
async def list_notifications(
    limit: int = Query(100, ge=1, le=500),
    unacknowledged: bool = Query(False, description="only alerts still waiting for an acknowledgement"),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The caller's in-app inbox, newest first."""
    return {"notifications": await views.inbox(rt.pool, caller.agency_id, caller.sub, unacknowledged, limit)}


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge_alert(
    alert_id: UUID, request: Request, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    """Acknowledge an alert addressed to the caller (403 for somebody else's, 404 if unknown)."""
    command = AcknowledgeAlert(alert_id=alert_id, acknowledged_by=caller.sub)
    return await rt.run(commands.acknowledge_alert, command, request, caller)


def _may_configure(caller: Principal, recipient_id: str) -> None:
    if caller.sub != recipient_id and not caller.has_any("specialist", "supervisor", "agency_admin"):
        raise AuthError("only staff may set another recipient's preferences", status=403)


@router.put("/recipients/{recipient_id}/preferences")
async def put_preferences(
    body: PreferenceChoices,
    request: Request,
    recipient_id: str = Path(max_length=MAX_ID_LENGTH),
    caller: Principal = Depends(principal),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """How a recipient is reached: email address, channels, quiet hours and time zone."""
    _may_configure(caller, recipient_id)
    command = SetPreferences(recipient_id=recipient_id, **body.model_dump())
    return await rt.run(commands.set_preferences, command, request, caller)


@router.get("/recipients/{recipient_id}/preferences")
async def get_preferences(
    recipient_id: str = Path(max_length=MAX_ID_LENGTH), caller: Principal = Depends(principal),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    _may_configure(caller, recipient_id)
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
    caller: Principal = Depends(admin_or_integration), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    return {"subscriptions": await views.subscriptions(rt.pool, caller.agency_id)}


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
