"""Handlers of the referral inbox: the referral's row when it is made, the receiving agency's
accept and decline, and the withdrawal of pending referrals whose consent stops allowing them.

Every outcome is an event on the referring agency's participant stream (its outcome, its
agency); an acceptance also enrols the person in the receiving agency (its own stream, its
agency) in the same transaction. The consent row is locked (FOR SHARE here, FOR UPDATE by a
revocation), so an acceptance and a revocation of the same consent are strictly ordered.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

from services.intake.adapters import records
from services.intake.adapters import referral_records as rows
from services.intake.adapters.streams import consents, participants
from services.intake.adapters.tables import Tables
from services.intake.domain.consent import covers
from services.intake.domain.participant import decide_enrol
from services.intake.domain.referral_inbox import (
    AcceptIncomingReferral,
    DeclineIncomingReferral,
    Referral,
    ReferralStatus,
    decide_accept,
    decide_decline,
    decide_withdraw,
    enrolment_order,
    require_pending,
    require_visible_to,
)
from shared.catalogue.intake import DisclosurePurpose, ReferralWithdrawalReason
from shared.events import DomainEvent
from shared.tenancy import SCOPE_STATEMENT, SYSTEM, scope_arguments
from shared.uow import UnitOfWork


@contextlib.asynccontextmanager
async def referring_side(uow: UnitOfWork, agency_id: str) -> AsyncIterator[None]:
    """Within the receiving agency's transaction, the few statements that must touch the referring
    agency's rows (its consent, its participant's stream) run in the system scope, then the
    transaction is back to ``agency_id``. This is the one consent-gated crossing between agencies;
    every statement inside names its rows explicitly."""
    await uow.conn.execute(SCOPE_STATEMENT, *scope_arguments(SYSTEM))
    try:
        yield
    finally:
        await uow.conn.execute(SCOPE_STATEMENT, *scope_arguments(agency_id))


async def _on_referring_stream(uow: UnitOfWork, referral: Referral, events: list[DomainEvent]) -> None:
    loaded = await participants.load(uow, referral.participant_id)
    await participants.save(uow, loaded, events, participant_id=referral.participant_id,
                            agency_id=referral.disclosing_agency_id)


async def _visible(uow: UnitOfWork, referral_id: UUID, agency_id: str) -> Referral:
    return require_visible_to(await rows.load(uow.conn, referral_id, uow.keys, lock=True), agency_id)


async def accept(cmd: AcceptIncomingReferral, uow: UnitOfWork) -> UUID:
    """Enrol the referred person in the caller's (the receiving) agency; returns the new participant id."""
    referral_id, agency_id, now = cmd.referral_id, uow.caller_agency, uow.now
    referral = await _visible(uow, referral_id, agency_id)
    require_pending(referral)
    async with referring_side(uow, agency_id):
        await uow.conn.execute("SELECT 1 FROM consents WHERE consent_id = $1 FOR SHARE", referral.consent_id)
        consent = (await consents.load(uow, referral.consent_id)).state
        meta = await uow.conn.fetchrow(
            "SELECT r.purpose, r.consent_version, p.status FROM referrals r"
            " JOIN participants p USING (participant_id) WHERE r.referral_id = $1", referral_id)
    allowed = covers(consent, disclosing_agency_id=referral.disclosing_agency_id,
                     recipient_agency_id=referral.recipient_agency_id, purpose=DisclosurePurpose(meta["purpose"]),
                     information=referral.information, at=now, participant_discharged=meta["status"] == "discharged")
    outcome = decide_accept(referral, allowed, now)
    order = enrolment_order(referral, cmd, uuid.uuid4())
    order = order.model_copy(update={"referral_id": referral.referral_id, "referral_consent_id": referral.consent_id})
    await participants.execute(uow, order.participant_id, lambda s: decide_enrol(s, order, now),
                               agency_id=agency_id, participant_id=order.participant_id)
    await records.insert_participant(uow.conn, order, agency_id, now, uow.keys)
    await rows.link_enrolment(uow.conn, order.participant_id, referral)
    async with referring_side(uow, agency_id):
        await _on_referring_stream(uow, referral, list(outcome))
    # Accepting copies the disclosed records into the caller's agency: the disclosure has happened
    # (a no-op when the referral was already shown to the receiving agency).
    await rows.record_disclosures(uow.conn, [referral_id], now)
    await rows.mark(uow.conn, referral_id, ReferralStatus.ACCEPTED, now, by=uow.metadata.actor,
                    enrolled_participant_id=order.participant_id)
    await rows.record_receipt(uow.conn, uuid.uuid5(referral.referral_id, "received"), referral, now, meta["purpose"],
                              meta["consent_version"], uow.metadata.actor, order.participant_id)
    return order.participant_id


async def decline(cmd: DeclineIncomingReferral, uow: UnitOfWork) -> None:
    referral_id, agency_id, now = cmd.referral_id, uow.caller_agency, uow.now
    referral = await _visible(uow, referral_id, agency_id)
    outcome = decide_decline(referral, cmd, now)
    async with referring_side(uow, agency_id):
        await _on_referring_stream(uow, referral, list(outcome))
    await rows.mark(uow.conn, referral_id, ReferralStatus.DECLINED, now, by=uow.metadata.actor,
                    decline_reason=cmd.reason.value, decline_note=cmd.note, keys=uow.keys)


async def withdraw_pending(uow: UnitOfWork, consent_id: UUID, reason: ReferralWithdrawalReason,
                           at: datetime | None = None) -> int:
    """Withdraw every pending referral made under ``consent_id`` (revoked or expired), as of ``at``
    (the unit of work's time unless given). Returns the count."""
    now = at or uow.now
    tables: Tables = uow.tables
    withdrawn = 0
    for referral in await tables.pending_referrals(consent_id):
        events = decide_withdraw(referral, reason, now)
        if events:
            await _on_referring_stream(uow, referral, list(events))
            await tables.mark_referral_withdrawn(referral.referral_id, now, reason.value)
            withdrawn += 1
    return withdrawn
