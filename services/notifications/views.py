"""Notifications' reads: the staff inbox, contact preferences, webhook subscriptions. They skip
the domain and query the read tables directly, always scoped to the caller's agency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.notifications.adapters import repository
from shared.domain import InvalidCommand, NotFound
from shared.keyring import KeyRing

INBOX = """
SELECT i.notification_id, i.participant_id, i.recipient_role, i.rule, i.urgency, i.alert_id, i.subject,
       i.link, i.cause_event_id, i.created_at, a.acknowledged_at, a.acknowledged_by
FROM staff_inbox i LEFT JOIN alerts a ON a.alert_id = i.alert_id
WHERE i.agency_id = $1 AND i.recipient_id = $2
  AND ($3::boolean IS FALSE OR (i.alert_id IS NOT NULL AND a.acknowledged_at IS NULL))
ORDER BY i.created_at DESC, i.notification_id LIMIT $4 OFFSET $5
"""


async def inbox(
    pool: Any, agency_id: str, recipient_id: str, unacknowledged: bool, limit: int | None, offset: int = 0
) -> list[dict[str, Any]]:
    """A recipient's in-app inbox, newest first."""
    rows = await pool.fetch(INBOX, agency_id, recipient_id, unacknowledged, limit, offset)
    return [
        {
            "notification_id": str(r["notification_id"]),
            "participant_id": str(r["participant_id"]),
            "recipient_role": r["recipient_role"],
            "channel": "in_app",
            "rule": r["rule"],
            "urgency": r["urgency"],
            "urgent": r["urgency"] == "urgent",
            "alert_id": str(r["alert_id"]) if r["alert_id"] else None,
            "subject": r["subject"],
            "link": r["link"],
            "cause_event_id": str(r["cause_event_id"]),
            "created_at": r["created_at"].isoformat(),
            "acknowledged_at": r["acknowledged_at"].isoformat() if r["acknowledged_at"] else None,
            "acknowledged_by": r["acknowledged_by"],
        }
        for r in rows
    ]


def preferences_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {
        "recipient_id": row["recipient_id"],
        "email": row["email"],
        "channels": row["channels"],
        "quiet_hours": row["quiet_hours"],
        "time_zone": row["time_zone"],
        "updated_at": row["updated_at"].isoformat(),
    }
    if row.get("erased_at") is not None:  # the erased-field shape of docs/security.md
        view |= {"erased": True, "erased_at": row["erased_at"].isoformat()}
    return view


async def preferences(pool: Any, agency_id: str, recipient_id: str, keys: KeyRing) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await repository.load_preferences_row(conn, agency_id, recipient_id, keys)
    if row is None:
        raise NotFound("no preferences for this recipient", field="recipient_id")
    return preferences_view(row)


async def subscriptions(
    pool: Any, agency_id: str, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT subscription_id, url, event_types, description, include_details, active, created_at"
        " FROM webhook_subscriptions"
        " WHERE agency_id = $1 ORDER BY created_at, subscription_id LIMIT $2 OFFSET $3",
        agency_id,
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


async def agency_staff(pool: Any, agency_id: str) -> dict[str, Any]:
    """The agency's ladder tops (nulls when nobody is configured yet)."""
    row = await pool.fetchrow(
        "SELECT supervisor_id, agency_admin_id, updated_at FROM agency_staff WHERE agency_id = $1", agency_id
    )
    return {
        "agency_id": agency_id,
        "supervisor_id": row["supervisor_id"] if row else None,
        "agency_admin_id": row["agency_admin_id"] if row else None,
        "updated_at": row["updated_at"].isoformat() if row else None,
    }


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


async def agency_alerts(
    pool: Any, agency_id: str, *, open_only: bool, urgency: str | None, before: str | None, limit: int
) -> list[dict[str, Any]]:
    """The agency's alerts, newest first; ``before`` is the ``cursor`` of the last one seen (422 if
    it is not one)."""
    at, alert_id = _parse_alert_cursor(before) if before else (None, None)
    rows = await pool.fetch(AGENCY_ALERTS, agency_id, open_only, urgency, at, alert_id, limit)
    return [
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
