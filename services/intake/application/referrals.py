"""A consent-gated referral: decided against the participant and all their consents, appended
with the receiving agency's inbox row in one transaction. Refusals never reveal whether the person
exists. The disclosure-ledger line is written when the disclosure happens, that is when the
receiving agency is first shown the referral (``referral_records.record_disclosures``), not here:
a referral withdrawn before anyone at the receiving agency saw it disclosed nothing."""

from __future__ import annotations

from services.intake.adapters.streams import consents, participants
from services.intake.adapters.tables import Tables
from services.intake.domain.referral import NOT_FOUND_MESSAGE, RequestReferral, decide_request_referral
from shared.catalogue.intake import ReferralRequested
from shared.domain import NotFound
from shared.uow import UnitOfWork


async def request_referral(cmd: RequestReferral, uow: UnitOfWork) -> ReferralRequested:
    tables: Tables = uow.tables
    if await tables.owning_agency(cmd.participant_id) != uow.caller_agency:
        raise NotFound(NOT_FOUND_MESSAGE, field="participant_id")
    # FOR SHARE: a revocation of any of these consents waits for this disclosure, or vice versa.
    held = await tables.consent_ids_of(cmd.participant_id, for_disclosure=True)
    covering = [c.state for c in await consents.load_many(uow, held)]
    participant = await participants.load(uow, cmd.participant_id)
    events = decide_request_referral(participant.state, covering, cmd, uow.now)
    await participants.save(uow, participant, events, participant_id=cmd.participant_id)
    requested = events[0]
    assert isinstance(requested, ReferralRequested)
    consent_version = next(c.version for c in covering if c.consent_id == requested.consent_id)
    await tables.open_referral(requested, uow.caller_agency, consent_version, cmd.note, uow.actor)
    return requested
