"""Command handlers behind the HTTP API: acknowledge, preferences, subscriptions, agency staff.

One shape, as in every service: ``handle(command, uow)``; the caller's agency and ``sub`` and the
time come with the unit of work, notifications' own rows through ``uow.tables``.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from uuid import UUID

from services.notifications.adapters.streams import alerts
from services.notifications.adapters.tables import NewSubscription, Tables
from services.notifications.domain.alerts import AcknowledgeAlert, decide_acknowledge
from services.notifications.domain.directory import AgencyStaff, SetAgencyStaff
from services.notifications.domain.preferences import SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription, DeactivateWebhookSubscription
from services.notifications.views import preferences_view
from shared.domain import NotFound
from shared.uow import UnitOfWork


async def acknowledge_alert(command: AcknowledgeAlert, uow: UnitOfWork) -> dict[str, Any]:
    tables: Tables = uow.tables
    row = await tables.lock_alert(command.alert_id, uow.caller_agency)
    if row is None:  # another agency's alert looks exactly like a missing one
        raise NotFound("no such alert", field="alert_id")
    changed = await alerts.execute(uow, command.alert_id, lambda s: decide_acknowledge(s, command, uow.now),
                                   participant_id=row.participant_id, agency_id=row.agency_id)
    if changed.stored:
        await tables.save_alert(changed.state, row.agency_id, row.correlation_id, uow.now)
    acknowledged_by, acknowledged_at = await tables.acknowledgement(command.alert_id)
    return {
        "alert_id": str(command.alert_id),
        "acknowledged_by": acknowledged_by,
        "acknowledged_at": acknowledged_at.isoformat(),
    }


async def set_preferences(command: SetPreferences, uow: UnitOfWork) -> dict[str, Any]:
    tables: Tables = uow.tables
    zone = command.time_zone or await _enrolment_zone(tables, uow.caller_agency, command.recipient_id) or "UTC"
    await tables.save_preferences(
        uow.caller_agency,
        command.recipient_id,
        command.email,
        [c.value for c in command.channels] if command.channels is not None else None,
        command.quiet_hours,
        zone,
    )
    row = await tables.preferences(uow.caller_agency, command.recipient_id)
    assert row is not None
    return preferences_view(row)


async def _enrolment_zone(tables: Tables, agency_id: str, recipient_id: str) -> str | None:
    """The participant's time zone in the directory (from enrolment, or the latest
    ``ParticipantTimeZoneChanged``), if ``recipient_id`` is one of the agency's."""
    try:
        participant_id = UUID(recipient_id)
    except ValueError:
        return None  # staff are named by their token's sub
    record = await tables.participant(participant_id)
    return record.time_zone if record is not None and record.agency_id == agency_id else None


async def create_subscription(command: CreateWebhookSubscription, uow: UnitOfWork) -> dict[str, Any]:
    new = NewSubscription(
        subscription_id=uuid.uuid4(),
        agency_id=uow.caller_agency,
        order=command,
        secret=secrets.token_urlsafe(32),
        created_by=uow.actor or "",
        created_at=uow.now,
    )
    tables: Tables = uow.tables
    await tables.insert_subscription(new)
    return {
        "subscription_id": str(new.subscription_id),
        "url": command.url,
        "event_types": list(command.event_types),
        "description": command.description,
        "include_details": command.include_details,
        "active": True,
        "created_at": new.created_at.isoformat(),
        "secret": new.secret,  # shown once: the partner needs it to verify signatures
    }


async def deactivate_subscription(command: DeactivateWebhookSubscription, uow: UnitOfWork) -> None:
    tables: Tables = uow.tables
    if not await tables.deactivate_subscription(command.subscription_id, uow.caller_agency):
        raise NotFound("no such subscription", field="subscription_id")


async def set_agency_staff(command: SetAgencyStaff, uow: UnitOfWork) -> None:
    tables: Tables = uow.tables
    await tables.save_staff(AgencyStaff(uow.caller_agency, command.supervisor_id, command.agency_admin_id))
