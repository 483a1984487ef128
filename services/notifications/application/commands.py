"""Command handlers behind the HTTP API: acknowledge, preferences, subscriptions, agency staff."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.notifications.adapters import repository
from services.notifications.domain.alerts import AcknowledgeAlert, alert, decide_acknowledge
from services.notifications.domain.directory import AgencyStaff
from services.notifications.domain.preferences import SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription
from shared.auth import Principal
from shared.domain import NotFound
from shared.envelope import Metadata
from shared.runtime import Runtime


async def acknowledge_alert(rt: Runtime, metadata: Metadata, caller: Principal, alert_id: UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with rt.uow(metadata) as uow:
        row = await uow.conn.fetchrow(
            "SELECT agency_id, participant_id, correlation_id FROM alerts WHERE alert_id = $1 AND agency_id = $2"
            " FOR UPDATE",
            alert_id,
            caller.agency_id,
        )
        if row is None:  # another agency's alert looks exactly like a missing one
            raise NotFound("no such alert", field="alert_id")
        command = AcknowledgeAlert(alert_id=alert_id, acknowledged_by=caller.sub)
        state, events = await uow.execute(
            alert,
            f"alert-{alert_id}",
            lambda s, _v: decide_acknowledge(s, command, now),
            agency_id=row["agency_id"],
            participant_id=row["participant_id"],
        )
        if events:
            await repository.upsert_alert(uow.conn, state, row["agency_id"], row["correlation_id"], now)
        acknowledged = await uow.conn.fetchrow(
            "SELECT acknowledged_at, acknowledged_by FROM alerts WHERE alert_id = $1", alert_id
        )
    return {
        "alert_id": str(alert_id),
        "acknowledged_by": acknowledged["acknowledged_by"],
        "acknowledged_at": acknowledged["acknowledged_at"].isoformat(),
    }


async def set_preferences(rt: Runtime, caller: Principal, command: SetPreferences) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        zone = command.time_zone or await _enrolment_zone(conn, caller.agency_id, command.recipient_id) or "UTC"
        await repository.save_preferences(
            conn,
            caller.agency_id,
            command.recipient_id,
            command.email,
            [c.value for c in command.channels] if command.channels is not None else None,
            command.quiet_hours,
            zone,
        )
        row = await repository.load_preferences_row(conn, caller.agency_id, command.recipient_id)
    assert row is not None
    return _preferences_view(row)


async def _enrolment_zone(conn: asyncpg.Connection, agency_id: str, recipient_id: str) -> str | None:
    """The participant's time zone in the directory (from enrolment, or the latest
    ``ParticipantTimeZoneChanged``), if ``recipient_id`` is one of the agency's."""
    try:
        participant_id = UUID(recipient_id)
    except ValueError:
        return None  # staff are named by their token's sub
    record = await repository.load_record(conn, participant_id)
    return record.time_zone if record is not None and record.agency_id == agency_id else None


def _preferences_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "recipient_id": row["recipient_id"],
        "email": row["email"],
        "channels": row["channels"],
        "quiet_hours": row["quiet_hours"],
        "time_zone": row["time_zone"],
        "updated_at": row["updated_at"].isoformat(),
    }


async def get_preferences(rt: Runtime, caller: Principal, recipient_id: str) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await repository.load_preferences_row(conn, caller.agency_id, recipient_id)
    if row is None:
        raise NotFound("no preferences for this recipient", field="recipient_id")
    return _preferences_view(row)


async def create_subscription(rt: Runtime, caller: Principal, command: CreateWebhookSubscription) -> dict[str, Any]:
    subscription_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with rt.pool.acquire() as conn:
        await repository.insert_subscription(
            conn,
            subscription_id,
            caller.agency_id,
            command.url,
            command.event_types,
            secret,
            command.description,
            caller.sub,
            now,
            command.include_details,
        )
    return {
        "subscription_id": str(subscription_id),
        "url": command.url,
        "event_types": list(command.event_types),
        "description": command.description,
        "include_details": command.include_details,
        "active": True,
        "created_at": now.isoformat(),
        "secret": secret,  # shown once: the partner needs it to verify signatures
    }


async def list_subscriptions(
    rt: Runtime, caller: Principal, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        "SELECT subscription_id, url, event_types, description, include_details, active, created_at"
        " FROM webhook_subscriptions"
        " WHERE agency_id = $1 ORDER BY created_at, subscription_id LIMIT $2 OFFSET $3",
        caller.agency_id,
        limit,
        offset,
    )
    return [
        {
            "subscription_id": str(r["subscription_id"]),
            "url": r["url"],
            "event_types": list(r["event_types"]),
            "description": r["description"],
            "include_details": r["include_details"],
            "active": r["active"],
            "created_at": r["created_at"].isoformat(),
        }
        for r in rows
    ]


async def deactivate_subscription(rt: Runtime, caller: Principal, subscription_id: UUID) -> None:
    done = await rt.pool.fetchval(
        "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1 AND agency_id = $2 RETURNING 1",
        subscription_id,
        caller.agency_id,
    )
    if not done:
        raise NotFound("no such subscription", field="subscription_id")


async def get_agency_staff(rt: Runtime, caller: Principal) -> dict[str, Any]:
    """The caller's agency's ladder tops (nulls when nobody is configured yet)."""
    row = await rt.pool.fetchrow(
        "SELECT supervisor_id, agency_admin_id, updated_at FROM agency_staff WHERE agency_id = $1", caller.agency_id
    )
    return {
        "agency_id": caller.agency_id,
        "supervisor_id": row["supervisor_id"] if row else None,
        "agency_admin_id": row["agency_admin_id"] if row else None,
        "updated_at": row["updated_at"].isoformat() if row else None,
    }


async def set_agency_staff(rt: Runtime, caller: Principal, supervisor_id: str | None, admin_id: str | None) -> None:
    async with rt.pool.acquire() as conn:
        await repository.save_staff(conn, AgencyStaff(caller.agency_id, supervisor_id, admin_id))
