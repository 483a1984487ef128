"""One try of one email or webhook delivery: decide what may be said, to which address, and send.

Returns ``(True, _)`` when the SMTP server or the endpoint accepted it, ``(False, reason)`` for a
failure worth retrying, and ``(None, reason)`` when it can never be delivered (no address, no
subscription, consent withdrawn).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

from services.notifications.adapters import repository
from services.notifications.adapters.channels import post_webhook, send_email
from services.notifications.application.consents import disclosure_still_allowed
from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.messages import render_email, webhook_body
from services.notifications.domain.vocabulary import STAFF_ROLES, Channel, Role, Rule, Urgency
from services.notifications.domain.webhooks import signed_headers
from services.notifications.settings import NotificationSettings
from shared.egress import EgressRefused
from shared.keyring import KeyRing

Outcome = tuple[bool | None, str]


def intent_of(row: asyncpg.Record) -> NotificationIntent:
    """The intent behind a queued delivery row (one channel)."""
    return NotificationIntent(
        rule=Rule(row["rule"]),
        recipient_role=Role(row["recipient_role"]),
        recipient_id=row["recipient_id"],
        channels=(Channel(row["channel"]),),
        urgency=Urgency(row["urgency"]),
        cause_event_id=row["cause_event_id"],
        participant_id=row["participant_id"],
    )


async def consent_still_holds(pool: asyncpg.Pool, row: asyncpg.Record) -> bool:
    """Fail closed at send time: consent may have been withdrawn while the message waited."""
    async with pool.acquire() as conn:
        record = await repository.load_record(conn, row["participant_id"])
    if record is None or record.discharged:
        return False
    return any(c.support_contact_id == row["recipient_id"] and c.consent_to_contact for c in record.support_contacts)


async def attempt(
    row: asyncpg.Record, pool: asyncpg.Pool, cfg: NotificationSettings, http: httpx.AsyncClient,
    keys: KeyRing | None = None,
) -> Outcome:
    """``keys`` opens a participant's own (sealed) address; without it such an address is unknown."""
    intent = intent_of(row)
    details: dict[str, Any] = orjson.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    if intent.recipient_role is Role.SUPPORT_CONTACT and not await consent_still_holds(pool, row):
        return None, "the participant no longer consents to this support contact being contacted"
    if intent.rule is Rule.REFERRAL_WEBHOOK and not await disclosure_still_allowed(pool, details):
        return None, "consent-withdrawn: the consent no longer allows this disclosure"
    if intent.channels[0] is Channel.EMAIL:
        return await _email(row, intent, details, pool, cfg, keys)
    return await _webhook(row, intent, details, pool, cfg, http)


async def _email(
    row: asyncpg.Record,
    intent: NotificationIntent,
    details: dict[str, Any],
    pool: asyncpg.Pool,
    cfg: NotificationSettings,
    keys: KeyRing | None,
) -> Outcome:
    async with pool.acquire() as conn:
        prefs = await repository.load_preferences(conn, row["agency_id"], row["recipient_id"], keys)
    if prefs is None or not prefs.email:
        return None, "no email address on file for the recipient"
    entitled = cfg.details_for_staff and intent.recipient_role in STAFF_ROLES
    message = render_email(intent, cfg.base_url, payload=details, entitled=entitled, alert_id=row["alert_id"])
    return await send_email(
        cfg.smtp_host,
        cfg.smtp_port,
        cfg.smtp_timeout_s,
        cfg.smtp_sender,
        prefs.email,
        message,
        str(row["notification_id"]),
    )


async def _webhook(
    row: asyncpg.Record,
    intent: NotificationIntent,
    details: dict[str, Any],
    pool: asyncpg.Pool,
    cfg: NotificationSettings,
    http: httpx.AsyncClient,
) -> Outcome:
    async with pool.acquire() as conn:
        target = await repository.webhook_target(
            conn, row["recipient_role"], row["recipient_id"], row["cause_event_type"]
        )
    if target is None:
        return None, "no active webhook subscription for the recipient"
    url, secret, include_details = target
    try:  # again at send time: the host's DNS may have changed since the subscription
        await cfg.egress_policy.check_url(url)
    except EgressRefused as refused:
        return None, f"{refused.code}: the endpoint's address is not allowed"
    body = orjson.dumps(
        webhook_body(
            intent,
            event_type=row["cause_event_type"],
            occurred_at=row["cause_occurred_at"],
            base_url=cfg.base_url,
            delivery_id=row["notification_id"],
            payload=details,
            entitled=include_details,
        )
    )
    timestamp = int(datetime.now(UTC).timestamp())
    headers = signed_headers(secret, body, timestamp, str(row["notification_id"]), row["cause_event_type"])
    return await post_webhook(http, url, body, headers)
