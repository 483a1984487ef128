"""Handlers for Part 2 consents: draft, grant (or amend), sign, revoke, and the expiry sweep."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from services.intake.adapters.streams import consents
from services.intake.adapters.tables import Tables
from services.intake.application import referral_inbox
from services.intake.application.participants import require_participant
from services.intake.domain.consent import (
    Consent,
    check_disclosing_agency,
    decide_draft,
    decide_expire,
    decide_grant,
    decide_revoke,
    decide_sign,
)
from services.intake.domain.consent_terms import (
    ConsentTerms,
    DraftConsent,
    GrantConsent,
    RevokeConsent,
    SignConsent,
)
from shared.catalogue.intake import ConsentGranted, ReferralWithdrawalReason
from shared.domain import Conflict
from shared.envelope import Metadata
from shared.events import DomainEvent
from shared.polling import PollingWorker, not_set_aside, set_aside, should_set_aside
from shared.streams import Changed
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

ConsentCommand = DraftConsent | GrantConsent | SignConsent | RevokeConsent


async def _on_consent(
    uow: UnitOfWork, cmd: ConsentCommand, decide: Callable[[Consent], Sequence[DomainEvent]]
) -> Changed[Consent]:
    status = await require_participant(uow, cmd.participant_id)
    # After discharge a consent can still be revoked (the person's right), but not made or signed.
    if status == "discharged" and not isinstance(cmd, RevokeConsent):
        raise Conflict("participant has been discharged", field="participant_id")
    if isinstance(cmd, ConsentTerms):
        check_disclosing_agency(cmd, uow.caller_agency)
    # Lock the consent row first: a referral checking coverage holds it FOR SHARE, so a revocation
    # and a disclosure under the same consent are strictly ordered.
    tables: Tables = uow.tables
    await tables.lock_consent(cmd.consent_id)
    return await consents.execute(uow, cmd.consent_id, decide, participant_id=cmd.participant_id)


async def draft_consent(cmd: DraftConsent, uow: UnitOfWork) -> Consent:
    changed = await _on_consent(uow, cmd, lambda s: decide_draft(s, cmd, uow.now))
    await uow.tables.save_consent(cmd, uow.caller_agency, "draft", 0, None, uow.now)
    return changed.state


async def grant_consent(cmd: GrantConsent, uow: UnitOfWork) -> Consent:
    changed = await _on_consent(uow, cmd, lambda s: decide_grant(s, cmd, uow.now))
    await uow.tables.save_consent(cmd, uow.caller_agency, "active", changed.state.version, cmd.signature, uow.now)
    return changed.state


async def sign_consent(cmd: SignConsent, uow: UnitOfWork) -> Consent:
    changed = await _on_consent(uow, cmd, lambda s: decide_sign(s, cmd, uow.now))
    granted = changed.events[0]
    assert isinstance(granted, ConsentGranted)
    await uow.tables.set_consent_status(
        cmd.consent_id, "active", uow.now, version=granted.version, signature=cmd.signature
    )
    return changed.state


async def revoke_consent(cmd: RevokeConsent, uow: UnitOfWork) -> Consent:
    changed = await _on_consent(uow, cmd, lambda s: decide_revoke(s, cmd, uow.now))
    await uow.tables.set_consent_status(cmd.consent_id, "revoked", uow.now)
    await referral_inbox.withdraw_pending(uow, cmd.consent_id, ReferralWithdrawalReason.CONSENT_REVOKED)
    return changed.state


@dataclass(frozen=True)
class ExpireConsent:
    """The sweep's order: end the consent if its expiry date is before ``as_of``'s."""

    consent_id: uuid.UUID
    participant_id: uuid.UUID
    as_of: datetime


async def expire_consent(cmd: ExpireConsent, uow: UnitOfWork) -> bool:
    """Record ``ConsentExpired`` if the consent's expiry date has passed; True if it did."""
    tables: Tables = uow.tables
    await tables.lock_consent(cmd.consent_id)
    expired = await consents.execute(uow, cmd.consent_id, lambda s: decide_expire(s, cmd.as_of),
                                     participant_id=cmd.participant_id)
    if expired.stored:
        await tables.set_consent_status(cmd.consent_id, "expired", cmd.as_of)
        await referral_inbox.withdraw_pending(uow, cmd.consent_id, ReferralWithdrawalReason.CONSENT_EXPIRED,
                                              at=cmd.as_of)
    return bool(expired.stored)


CONSENT_EXPIRY = "intake.consent-expiry"


async def expire_due_consents(open_uow: Callable[..., Any], pool: Any, now: datetime | None = None) -> int:
    """Record ``ConsentExpired`` for every active consent whose expiry date has passed. Returns the count.

    Each consent in its own transaction; one that fails for a reason other than the database being
    in trouble (an unreadable stream, a decision that raises) is set aside and the others expire."""
    now = now or datetime.now(UTC)
    rows = await pool.fetch(
        "SELECT consent_id, participant_id, agency_id FROM consents WHERE status = 'active' AND expires_on < $1"
        f" AND {not_set_aside(CONSENT_EXPIRY, 'consent_id')} ORDER BY expires_on",
        now.date(),
    )
    expired = 0
    for row in rows:
        try:
            expired += await _expire_one(open_uow, row, now)
        except Exception as exc:
            if not should_set_aside(exc):
                raise
            await set_aside(pool, CONSENT_EXPIRY, row["consent_id"], exc)
    return expired


async def _expire_one(open_uow: Callable[..., Any], row: Any, now: datetime) -> int:
    metadata = Metadata(correlation_id=str(uuid.uuid4()), actor="intake:consent-expiry")
    async with open_uow(metadata, agency_id=row["agency_id"]) as uow:
        return int(await expire_consent(ExpireConsent(row["consent_id"], row["participant_id"], now), uow))


async def consent_expiry_loop(open_uow: Callable[..., Any], pool: Any, interval_s: float) -> None:
    """Background task: sweep for expired consents every ``interval_s`` seconds (reads already treat
    a lapsed consent as expired, so a late sweep changes nothing a reader sees)."""

    async def step() -> int:
        count = await expire_due_consents(open_uow, pool)
        if count:
            log.info("consents expired", count=count)
        return count

    await PollingWorker(CONSENT_EXPIRY, step, interval=interval_s).run()
