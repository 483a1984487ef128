"""A consent-gated referral: decided against the participant and all their consents, appended
with its disclosure-ledger row in one transaction. Refusals never reveal whether the person exists."""

from __future__ import annotations

from datetime import datetime

from services.intake.adapters import records
from services.intake.application import referral_inbox
from services.intake.application.participants import consent_stream, participant_stream
from services.intake.domain.consent import consent_aggregate
from services.intake.domain.participant import participant_aggregate
from services.intake.domain.referral import NOT_FOUND_MESSAGE, RequestReferral, decide_request_referral, ledger_entry
from shared.catalogue.intake import ReferralRequested
from shared.domain import NotFound
from shared.uow import UnitOfWork


async def request_referral(cmd: RequestReferral, uow: UnitOfWork, agency_id: str, now: datetime) -> ReferralRequested:
    if await records.owning_agency(uow.conn, cmd.participant_id) != agency_id:
        raise NotFound(NOT_FOUND_MESSAGE, field="participant_id")
    # FOR SHARE: a revocation of any of these consents waits for this disclosure, or vice versa.
    rows = await uow.conn.fetch(
        "SELECT consent_id FROM consents WHERE participant_id = $1 FOR SHARE", cmd.participant_id
    )
    consents = [(await uow.load(consent_aggregate, consent_stream(r["consent_id"])))[0] for r in rows]
    stream = participant_stream(cmd.participant_id)
    participant, version = await uow.load(participant_aggregate, stream)
    events = decide_request_referral(participant, consents, cmd, now)
    await uow.append(
        stream,
        participant_aggregate.stream_type,
        events,
        expected_version=version,
        agency_id=agency_id,
        participant_id=cmd.participant_id,
    )
    requested = events[0]
    assert isinstance(requested, ReferralRequested)
    consent_version = next(c.version for c in consents if c.consent_id == requested.consent_id)
    await records.append_disclosure(
        uow.conn, ledger_entry(requested), agency_id, consent_version, cmd.note, uow.metadata.actor
    )
    await referral_inbox.open_referral(uow, requested, agency_id, consent_version, cmd.note)
    return requested
