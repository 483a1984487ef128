"""What notifications remembers of consents, so that a referral is sent only while it is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.cloudevents import ReceivedEvent
from shared.uow import UnitOfWork

#: intake's events after which a consent (or a referral made under it) no longer allows disclosure
WITHDRAWING_EVENTS = {"ConsentRevoked": ("consent_id", "revoked_at"), "ConsentExpired": ("consent_id", "expired_at"),
                      "ReferralWithdrawn": ("referral_id", "withdrawn_at")}


async def remember_withdrawal(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Consumer handler: record a revoked or expired consent, or a withdrawn referral (idempotent)."""
    fields = WITHDRAWING_EVENTS.get(received.event_type)
    if fields is None:
        return
    key, when = fields
    await uow.conn.execute(
        "INSERT INTO withdrawn_consents (id, kind, agency_id, withdrawn_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO NOTHING",
        UUID(str(received.data[key])), key.removesuffix("_id"), received.agency_id,
        datetime.fromisoformat(str(received.data[when])),
    )


async def disclosure_still_allowed(pool: asyncpg.Pool, details: Mapping[str, Any]) -> bool:
    """False once the referral's consent was revoked or expired, or the referral withdrawn."""
    ids = []
    for key in ("consent_id", "referral_id"):
        try:
            ids.append(UUID(str(details[key])))
        except (KeyError, ValueError):
            return False  # fail closed: a referral delivery must name both
    found = await pool.fetchval("SELECT count(*) FROM withdrawn_consents WHERE id = ANY($1::uuid[])", ids)
    return found == 0
