"""Handlers for Part 2 consents: draft, grant (or amend), sign, revoke, and the expiry sweep."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from services.intake.adapters import records
from services.intake.application import referral_inbox
from services.intake.application.participants import consent_stream
from services.intake.domain.consent import (
    Consent,
    check_disclosing_agency,
    consent_aggregate,
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
from shared.envelope import Metadata, StoredEvent
from shared.events import DomainEvent
from shared.polling import PollingWorker, not_set_aside, set_aside, should_set_aside
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)


async def _on_consent(
    uow: UnitOfWork, cmd: Any, agency_id: str, decide: Callable[[Consent], Sequence[DomainEvent]]
) -> tuple[Consent, list[StoredEvent]]:
    status = await records.require_participant(uow.conn, cmd.participant_id, agency_id)
    # After discharge a consent can still be revoked (the person's right), but not made or signed.
    if status == "discharged" and not isinstance(cmd, RevokeConsent):
        raise Conflict("participant has been discharged", field="participant_id")
    if isinstance(cmd, ConsentTerms):
        check_disclosing_agency(cmd, agency_id)
    # Lock the consent row first: a referral checking coverage holds it FOR SHARE, so a revocation
    # and a disclosure under the same consent are strictly ordered.
    await uow.conn.execute("SELECT 1 FROM consents WHERE consent_id = $1 FOR UPDATE", cmd.consent_id)
    return await uow.execute(
        consent_aggregate,
        consent_stream(cmd.consent_id),
        lambda s, _v: decide(s),
        agency_id=agency_id,
        participant_id=cmd.participant_id,
    )


async def draft_consent(cmd: DraftConsent, uow: UnitOfWork, agency_id: str, now: datetime) -> Consent:
    state, _ = await _on_consent(uow, cmd, agency_id, lambda s: decide_draft(s, cmd, now))
    await records.save_consent(uow.conn, cmd, agency_id, "draft", 0, None, now)
    return state


async def grant_consent(cmd: GrantConsent, uow: UnitOfWork, agency_id: str, now: datetime) -> Consent:
    state, _ = await _on_consent(uow, cmd, agency_id, lambda s: decide_grant(s, cmd, now))
    await records.save_consent(uow.conn, cmd, agency_id, "active", state.version, cmd.signature, now)
    return state


async def sign_consent(cmd: SignConsent, uow: UnitOfWork, agency_id: str, now: datetime) -> Consent:
    state, stored = await _on_consent(uow, cmd, agency_id, lambda s: decide_sign(s, cmd, now))
    granted = stored[0].event
    assert isinstance(granted, ConsentGranted)
    await records.set_consent_status(
        uow.conn, cmd.consent_id, "active", now, version=granted.version, signature=cmd.signature
    )
    return state


async def revoke_consent(cmd: RevokeConsent, uow: UnitOfWork, agency_id: str, now: datetime) -> Consent:
    state, _ = await _on_consent(uow, cmd, agency_id, lambda s: decide_revoke(s, cmd, now))
    await records.set_consent_status(uow.conn, cmd.consent_id, "revoked", now)
    await referral_inbox.withdraw_pending(uow, cmd.consent_id, ReferralWithdrawalReason.CONSENT_REVOKED, now)
    return state


CONSENT_EXPIRY = "intake.consent-expiry"


async def expire_due_consents(open_uow: Callable[[Metadata], Any], pool: Any, now: datetime | None = None) -> int:
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


async def _expire_one(open_uow: Callable[[Metadata], Any], row: Any, now: datetime) -> int:
    metadata = Metadata(correlation_id=str(uuid.uuid4()), actor="intake:consent-expiry")
    async with open_uow(metadata) as uow:
        await uow.conn.execute("SELECT 1 FROM consents WHERE consent_id = $1 FOR UPDATE", row["consent_id"])
        _, stored = await uow.execute(
            consent_aggregate,
            consent_stream(row["consent_id"]),
            lambda s, _v: decide_expire(s, now),
            agency_id=row["agency_id"],
            participant_id=row["participant_id"],
        )
        if stored:
            await records.set_consent_status(uow.conn, row["consent_id"], "expired", now)
            await referral_inbox.withdraw_pending(uow, row["consent_id"], ReferralWithdrawalReason.CONSENT_EXPIRED, now)
            return 1
    return 0


async def consent_expiry_loop(open_uow: Callable[[Metadata], Any], pool: Any, interval_s: float) -> None:
    """Background task: sweep for expired consents every ``interval_s`` seconds (reads already treat
    a lapsed consent as expired, so a late sweep changes nothing a reader sees)."""

    async def step() -> int:
        count = await expire_due_consents(open_uow, pool)
        if count:
            log.info("consents expired", count=count)
        return count

    await PollingWorker(CONSENT_EXPIRY, step, interval=interval_s).run()
