"""SQL for notifications' own tables: the recipient directory, contact configuration, alerts,
the staff inbox and the delivery queue. Every function takes the connection it runs on, so
callers decide the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.notifications.domain.alerts import Alert
from services.notifications.domain.directory import AgencyStaff, ContactHours, ParticipantRecord, SupportContact
from services.notifications.domain.preferences import RecipientPreferences
from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.subscriptions import WebhookSubscription
from services.notifications.domain.vocabulary import Channel
from shared.keyring import KeyRing, is_sealed


def _record(row: asyncpg.Record) -> ParticipantRecord:
    contacts = tuple(
        SupportContact(c["support_contact_id"], c["consent_to_contact"]) for c in orjson.loads(row["support_contacts"])
    )
    return ParticipantRecord(
        participant_id=row["participant_id"],
        agency_id=row["agency_id"],
        specialist_id=row["specialist_id"],
        supervisor_id=row["supervisor_id"],
        consecutive_misses=row["consecutive_misses"],
        support_contacts=contacts,
        discharged=row["discharged"],
        time_zone=row["time_zone"],
        preferred_hours=(
            ContactHours(row["preferred_hours_start"], row["preferred_hours_end"])
            if row["preferred_hours_start"] is not None
            else None
        ),
    )


async def load_record(conn: asyncpg.Connection, participant_id: UUID) -> ParticipantRecord | None:
    row = await conn.fetchrow("SELECT * FROM recipient_directory WHERE participant_id = $1", participant_id)
    return None if row is None else _record(row)


async def load_records(conn: asyncpg.Connection, participant_ids: Collection[UUID]) -> dict[UUID, ParticipantRecord]:
    """The directory records of ``participant_ids`` that exist, in one query."""
    rows = await conn.fetch(
        "SELECT * FROM recipient_directory WHERE participant_id = ANY($1::uuid[])", list(participant_ids)
    )
    return {row["participant_id"]: _record(row) for row in rows}


async def save_record(conn: asyncpg.Connection, record: ParticipantRecord, agency_id: str) -> None:
    await save_records(conn, [(record, agency_id)])


async def save_records(conn: asyncpg.Connection, records: Sequence[tuple[ParticipantRecord, str]]) -> None:
    """Upsert directory records in one statement; each with the agency a new row gets if the record
    names none. An existing row keeps its agency. At most one record per participant."""
    if not records:
        return
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [], [])
    for record, agency_id in records:
        contacts = [
            {"support_contact_id": c.support_contact_id, "consent_to_contact": c.consent_to_contact}
            for c in record.support_contacts
        ]
        values = (
            record.participant_id,
            record.agency_id or agency_id,
            record.specialist_id,
            record.supervisor_id,
            record.consecutive_misses,
            orjson.dumps(contacts).decode(),
            record.discharged,
            record.time_zone,
            record.preferred_hours.start if record.preferred_hours else None,
            record.preferred_hours.end if record.preferred_hours else None,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    await conn.execute(
        "INSERT INTO recipient_directory (participant_id, agency_id, specialist_id, supervisor_id,"
        " consecutive_misses, support_contacts, discharged, time_zone, preferred_hours_start,"
        " preferred_hours_end, updated_at)"
        " SELECT p, a, s, sv, m, c::jsonb, d, tz, hs, he, now()"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bool[],"
        " $8::text[], $9::time[], $10::time[])"
        " AS t(p, a, s, sv, m, c, d, tz, hs, he)"
        " ON CONFLICT (participant_id) DO UPDATE SET specialist_id = EXCLUDED.specialist_id,"
        " supervisor_id = EXCLUDED.supervisor_id, consecutive_misses = EXCLUDED.consecutive_misses,"
        " support_contacts = EXCLUDED.support_contacts, discharged = EXCLUDED.discharged,"
        " time_zone = EXCLUDED.time_zone, preferred_hours_start = EXCLUDED.preferred_hours_start,"
        " preferred_hours_end = EXCLUDED.preferred_hours_end, updated_at = now()",
        *columns,
    )


async def load_staff(conn: asyncpg.Connection, agency_id: str) -> AgencyStaff | None:
    row = await conn.fetchrow("SELECT * FROM agency_staff WHERE agency_id = $1", agency_id)
    return None if row is None else AgencyStaff(agency_id, row["supervisor_id"], row["agency_admin_id"])


async def load_staff_of(conn: asyncpg.Connection, agency_ids: Collection[str]) -> dict[str, AgencyStaff]:
    """The configured staff of those of ``agency_ids`` that have any, in one query."""
    rows = await conn.fetch("SELECT * FROM agency_staff WHERE agency_id = ANY($1::text[])", list(agency_ids))
    return {r["agency_id"]: AgencyStaff(r["agency_id"], r["supervisor_id"], r["agency_admin_id"]) for r in rows}


async def save_staff(conn: asyncpg.Connection, staff: AgencyStaff) -> None:
    await conn.execute(
        "INSERT INTO agency_staff (agency_id, supervisor_id, agency_admin_id, updated_at) VALUES ($1, $2, $3, now())"
        " ON CONFLICT (agency_id) DO UPDATE SET supervisor_id = EXCLUDED.supervisor_id,"
        " agency_admin_id = EXCLUDED.agency_admin_id, updated_at = now()",
        staff.agency_id,
        staff.supervisor_id,
        staff.agency_admin_id,
    )


#: the purpose (associated data) of a participant's sealed e-mail address
PREFERENCES_EMAIL = "recipient_preferences.email"


async def seal_email(conn: Any, keys: KeyRing, agency_id: str, recipient_id: str, email: str | None) -> str | None:
    """A participant's own address is sealed under their data key. Every recipient named by a
    UUID is sealed so (participants are; the directory may not know one yet, so no lookup decides
    it): a staff member with a UUID ``sub`` gets a key of their own, which no erasure targets."""
    if email is None:
        return None
    participant = _participant_id(recipient_id)
    if participant is None:
        return email
    return await keys.seal(conn, participant, agency_id, PREFERENCES_EMAIL, email)


def _participant_id(recipient_id: str) -> UUID | None:
    try:
        return UUID(recipient_id)
    except ValueError:
        return None


async def open_email(conn: Any, keys: KeyRing | None, recipient_id: str, email: str | None
                     ) -> tuple[str | None, datetime | None]:
    """The address in clear, and since when it is erased (a sealed address without a key ring
    reads as none: it is never sent to in clear)."""
    participant = _participant_id(recipient_id)
    if not is_sealed(email) or participant is None:
        return email, None
    if keys is None:
        return None, None
    opened = await keys.keys(conn, [participant])
    return opened.open(participant, PREFERENCES_EMAIL, email), opened.erased_at(participant)


def _preferences(row: asyncpg.Record, email: str | None) -> RecipientPreferences:
    quiet = QuietHours.parse(row["quiet_hours"], row["time_zone"]) if row["quiet_hours"] else None
    channels = frozenset(Channel(c) for c in row["channels"]) if row["channels"] is not None else None
    return RecipientPreferences(row["recipient_id"], email, channels, quiet)


async def load_preferences(
    conn: asyncpg.Connection, agency_id: str, recipient_id: str, keys: KeyRing | None = None
) -> RecipientPreferences | None:
    row = await conn.fetchrow(
        "SELECT * FROM recipient_preferences WHERE agency_id = $1 AND recipient_id = $2", agency_id, recipient_id
    )
    if row is None:
        return None
    email, _ = await open_email(conn, keys, recipient_id, row["email"])
    return _preferences(row, email)


async def load_preferences_row(
    conn: asyncpg.Connection, agency_id: str, recipient_id: str, keys: KeyRing | None = None
) -> dict[str, Any] | None:
    """The row as the API shows it: the address opened; ``erased_at`` when the participant was erased."""
    row = await conn.fetchrow(
        "SELECT recipient_id, email, channels, quiet_hours, time_zone, updated_at FROM recipient_preferences"
        " WHERE agency_id = $1 AND recipient_id = $2",
        agency_id,
        recipient_id,
    )
    if row is None:
        return None
    email, erased_at = await open_email(conn, keys, recipient_id, row["email"])
    return {**dict(row), "email": email, "erased_at": erased_at}


async def save_preferences(
    conn: asyncpg.Connection,
    agency_id: str,
    recipient_id: str,
    email: str | None,
    channels: Sequence[str] | None,
    quiet_hours: str | None,
    time_zone: str,
) -> None:
    await conn.execute(
        "INSERT INTO recipient_preferences"
        " (agency_id, recipient_id, email, channels, quiet_hours, time_zone, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, now())"
        " ON CONFLICT (agency_id, recipient_id) DO UPDATE SET"
        " email = EXCLUDED.email, channels = EXCLUDED.channels, quiet_hours = EXCLUDED.quiet_hours,"
        " time_zone = EXCLUDED.time_zone, updated_at = now()",
        agency_id,
        recipient_id,
        email,
        list(channels) if channels is not None else None,
        quiet_hours,
        time_zone,
    )


def _subscription(row: asyncpg.Record) -> WebhookSubscription:
    return WebhookSubscription(
        row["subscription_id"], row["agency_id"], row["url"], frozenset(row["event_types"]), row["active"]
    )


async def subscriptions_for(conn: asyncpg.Connection, agency_id: str, event_type: str) -> list[WebhookSubscription]:
    rows = await conn.fetch(
        "SELECT * FROM webhook_subscriptions WHERE agency_id = $1 AND active AND $2 = ANY(event_types)"
        " ORDER BY created_at, subscription_id",
        agency_id,
        event_type,
    )
    return [_subscription(r) for r in rows]


async def subscriptions_for_pairs(
    conn: asyncpg.Connection, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], list[WebhookSubscription]]:
    """:func:`subscriptions_for` of many (agency, event type) pairs in one query; pairs without an
    active subscription are absent. Same order as :func:`subscriptions_for` within each pair."""
    if not pairs:
        return {}
    agencies, event_types = zip(*pairs, strict=True)
    rows = await conn.fetch(
        "SELECT s.*, p.agency_id AS pair_agency_id, p.event_type AS pair_event_type"
        " FROM unnest($1::text[], $2::text[]) AS p(agency_id, event_type)"
        " JOIN webhook_subscriptions s"
        " ON s.agency_id = p.agency_id AND s.active AND p.event_type = ANY(s.event_types)"
        " ORDER BY s.created_at, s.subscription_id",
        list(agencies),
        list(event_types),
    )
    found: dict[tuple[str, str], list[WebhookSubscription]] = {}
    for r in rows:
        found.setdefault((r["pair_agency_id"], r["pair_event_type"]), []).append(_subscription(r))
    return found


async def webhook_target(
    conn: asyncpg.Connection, recipient_role: str, recipient_id: str, event_type: str
) -> tuple[str, str, bool] | None:
    """(url, secret, include_details) for a webhook delivery: the subscription itself, or for a
    partner agency its oldest active subscription to the cause's event type (never with details:
    a partner receives what the referral's consent covers, through the referral itself)."""
    if recipient_role == "integration":
        row = await conn.fetchrow(
            "SELECT url, secret, include_details FROM webhook_subscriptions WHERE subscription_id = $1 AND active",
            UUID(recipient_id),
        )
    else:
        row = await conn.fetchrow(
            "SELECT url, secret, false AS include_details FROM webhook_subscriptions"
            " WHERE agency_id = $1 AND active AND $2 = ANY(event_types)"
            " ORDER BY created_at, subscription_id LIMIT 1",
            recipient_id,
            event_type,
        )
    return None if row is None else (row["url"], row["secret"], row["include_details"])


async def insert_subscription(
    conn: asyncpg.Connection,
    subscription_id: UUID,
    agency_id: str,
    url: str,
    event_types: Sequence[str],
    secret: str,
    description: str | None,
    created_by: str,
    now: datetime,
    include_details: bool = False,
) -> None:
    await conn.execute(
        "INSERT INTO webhook_subscriptions (subscription_id, agency_id, url, event_types, secret, description,"
        " created_by, created_at, include_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        subscription_id,
        agency_id,
        url,
        list(event_types),
        secret,
        description,
        created_by,
        now,
        include_details,
    )


async def upsert_alert(
    conn: asyncpg.Connection, state: Alert, agency_id: str, correlation_id: str, now: datetime
) -> None:
    """Write the alert read model row from the folded aggregate state."""
    assert state.alert_id is not None
    await conn.execute(
        "INSERT INTO alerts (alert_id, agency_id, participant_id, recipient_id, recipient_role, addressed_to, rule,"
        " urgency, cause_event_id, correlation_id, raised_at, acknowledge_by, acknowledged_at, acknowledged_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (alert_id) DO UPDATE SET recipient_id = EXCLUDED.recipient_id,"
        " recipient_role = EXCLUDED.recipient_role, addressed_to = EXCLUDED.addressed_to,"
        " acknowledge_by = EXCLUDED.acknowledge_by,"
        " acknowledged_at = COALESCE(alerts.acknowledged_at, EXCLUDED.acknowledged_at),"
        " acknowledged_by = COALESCE(alerts.acknowledged_by, EXCLUDED.acknowledged_by)",
        state.alert_id,
        agency_id,
        state.participant_id,
        state.recipient_id,
        state.recipient_role.value,
        list(state.addressed_to),
        state.rule,
        state.urgency.value,
        state.cause_event_id,
        correlation_id,
        now,
        state.acknowledge_by,
        now if state.acknowledged_by else None,
        state.acknowledged_by,
    )
