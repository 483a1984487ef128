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
from services.intake.application.participants import consent_stream, participant_stream
from services.intake.domain.consent import consent_aggregate, covers
from services.intake.domain.participant import decide_enrol, participant_aggregate
from services.intake.domain.referral_inbox import (
    AcceptReferral,
    DeclineReferral,
    Referral,
    ReferralStatus,
    decide_accept,
    decide_decline,
    decide_withdraw,
    disclosed_packet,
    enrolment_order,
    require_pending,
    require_visible_to,
)
from shared.catalogue.intake import DisclosurePurpose, ReferralRequested, ReferralWithdrawalReason
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


async def open_referral(uow: UnitOfWork, requested: ReferralRequested, agency_id: str, consent_version: int,
                        note: str | None) -> None:
    """The referral's row, with the snapshot of what the consent lets the receiving agency see."""
    person, assessments = await rows.source_material(uow.conn, requested.participant_id)
    packet = disclosed_packet(requested.information, person, assessments)
    await rows.insert(uow.conn, requested, agency_id, consent_version, note, packet)


async def _on_referring_stream(uow: UnitOfWork, referral: Referral, events: list[DomainEvent]) -> None:
    stream = participant_stream(referral.participant_id)
    _, version = await uow.load(participant_aggregate, stream)
    await uow.append(stream, participant_aggregate.stream_type, events, expected_version=version,
                     agency_id=referral.disclosing_agency_id, participant_id=referral.participant_id)


async def _visible(uow: UnitOfWork, referral_id: UUID, agency_id: str) -> Referral:
    return require_visible_to(await rows.load(uow.conn, referral_id, lock=True), agency_id)


async def accept(referral_id: UUID, cmd: AcceptReferral, uow: UnitOfWork, agency_id: str, now: datetime) -> UUID:
    """Enrol the referred person in ``agency_id`` (the receiving agency); returns the new participant id."""
    referral = await _visible(uow, referral_id, agency_id)
    require_pending(referral)
    async with referring_side(uow, agency_id):
        await uow.conn.execute("SELECT 1 FROM consents WHERE consent_id = $1 FOR SHARE", referral.consent_id)
        consent, _ = await uow.load(consent_aggregate, consent_stream(referral.consent_id))
        meta = await uow.conn.fetchrow(
            "SELECT r.purpose, r.consent_version, p.status FROM referrals r"
            " JOIN participants p USING (participant_id) WHERE r.referral_id = $1", referral_id)
    allowed = covers(consent, disclosing_agency_id=referral.disclosing_agency_id,
                     recipient_agency_id=referral.recipient_agency_id, purpose=DisclosurePurpose(meta["purpose"]),
                     information=referral.information, at=now, participant_discharged=meta["status"] == "discharged")
    outcome = decide_accept(referral, allowed, now)
    order = enrolment_order(referral, cmd, uuid.uuid4())
    order = order.model_copy(update={"referral_id": referral.referral_id, "referral_consent_id": referral.consent_id})
    await uow.execute(participant_aggregate, participant_stream(order.participant_id),
                                  lambda s, _v: decide_enrol(s, order, now), agency_id=agency_id,
                                  participant_id=order.participant_id)
    await records.insert_participant(uow.conn, order, agency_id, now)
    await rows.link_enrolment(uow.conn, order.participant_id, referral)
    async with referring_side(uow, agency_id):
        await _on_referring_stream(uow, referral, list(outcome))
    await rows.mark(uow.conn, referral_id, ReferralStatus.ACCEPTED, now, by=uow.metadata.actor,
                    enrolled_participant_id=order.participant_id)
    await rows.record_receipt(uow.conn, uuid.uuid5(referral.referral_id, "received"), referral, now, meta["purpose"],
                              meta["consent_version"], uow.metadata.actor, order.participant_id)
    return order.participant_id


async def decline(referral_id: UUID, cmd: DeclineReferral, uow: UnitOfWork, agency_id: str, now: datetime) -> None:
    referral = await _visible(uow, referral_id, agency_id)
    outcome = decide_decline(referral, cmd, now)
    async with referring_side(uow, agency_id):
        await _on_referring_stream(uow, referral, list(outcome))
    await rows.mark(uow.conn, referral_id, ReferralStatus.DECLINED, now, by=uow.metadata.actor,
                    decline_reason=cmd.reason.value, decline_note=cmd.note)


async def withdraw_pending(uow: UnitOfWork, consent_id: UUID, reason: ReferralWithdrawalReason,
                           now: datetime) -> int:
    """Withdraw every pending referral made under ``consent_id`` (revoked or expired). Returns the count."""
    withdrawn = 0
    for referral in await rows.pending_of_consent(uow.conn, consent_id):
        events = decide_withdraw(referral, reason, now)
        if events:
            await _on_referring_stream(uow, referral, list(events))
            await rows.mark(uow.conn, referral.referral_id, ReferralStatus.WITHDRAWN, now,
                            withdrawal_reason=reason.value)
            withdrawn += 1
    return withdrawn
