"""Routes for Part 2 consents, consent-gated referrals and the disclosure ledger."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, status

from services.intake import views
from services.intake.application import consents, referrals
from services.intake.application.participants import order
from services.intake.domain.consent_terms import (
    ConsentForm,
    DraftConsent,
    GrantConsent,
    RevokeConsent,
    SignatureForm,
    SignConsent,
    SignedConsentForm,
)
from services.intake.domain.referral import ReferralForm, RequestReferral
from services.intake.entrypoints.common import Json
from shared.paging import Page, page
from shared.routes import StaffCall, StaffRecordCall

router = APIRouter(prefix="/v1", tags=["intake"])


def _consent(state: Any) -> Json:
    return {
        "consent_id": str(state.consent_id),
        "participant_id": str(state.participant_id),
        "status": state.status.value,
        "version": state.version,
    }


@router.post("/participants/{participant_id}/consents", status_code=status.HTTP_201_CREATED)
async def grant_consent(participant_id: UUID, body: SignedConsentForm, call: StaffCall) -> Json:
    cmd = order(GrantConsent, body, participant_id=participant_id, consent_id=uuid4())
    return _consent(await call.run(consents.grant_consent, cmd))


@router.post("/participants/{participant_id}/consent-drafts", status_code=status.HTTP_201_CREATED)
async def draft_consent(participant_id: UUID, body: ConsentForm, call: StaffCall) -> Json:
    cmd = order(DraftConsent, body, participant_id=participant_id, consent_id=uuid4())
    return _consent(await call.run(consents.draft_consent, cmd))


@router.put("/participants/{participant_id}/consents/{consent_id}")
async def amend_consent(participant_id: UUID, consent_id: UUID, body: SignedConsentForm, call: StaffCall) -> Json:
    await views.consent(call.pool, call.agency_id, participant_id, consent_id, call.keys)  # amend only what exists
    cmd = order(GrantConsent, body, participant_id=participant_id, consent_id=consent_id)
    return _consent(await call.run(consents.grant_consent, cmd))


@router.post("/participants/{participant_id}/consents/{consent_id}/signature")
async def sign_consent(participant_id: UUID, consent_id: UUID, body: SignatureForm, call: StaffCall) -> Json:
    cmd = order(SignConsent, body, participant_id=participant_id, consent_id=consent_id)
    return _consent(await call.run(consents.sign_consent, cmd))


@router.post("/participants/{participant_id}/consents/{consent_id}/revocation")
async def revoke_consent(participant_id: UUID, consent_id: UUID, call: StaffCall) -> Json:
    cmd = RevokeConsent(participant_id=participant_id, consent_id=consent_id)
    return _consent(await call.run(consents.revoke_consent, cmd))


@router.get("/participants/{participant_id}/consents")
async def list_consents(participant_id: UUID, call: StaffRecordCall, paged: Page = Depends(page)) -> Json:
    """The participant's consents (drafts, active, revoked, expired), oldest first, paged."""
    found = views.consents(call.pool, call.agency_id, participant_id, call.keys, limit=paged.fetch,
                           offset=paged.offset)
    return await call.listed("consents", "list consents", participant_id, paged, found)


@router.get("/participants/{participant_id}/consents/{consent_id}")
async def get_consent(participant_id: UUID, consent_id: UUID, call: StaffRecordCall) -> Json:
    found = views.consent(call.pool, call.agency_id, participant_id, consent_id, call.keys)
    return await call.shown(f"read consent {consent_id}", participant_id, found)


@router.post("/participants/{participant_id}/referrals", status_code=status.HTTP_201_CREATED)
async def request_referral(participant_id: UUID, body: ReferralForm, call: StaffCall) -> Json:
    cmd = order(
        RequestReferral, body, participant_id=participant_id, referral_id=uuid4(), disclosing_agency_id=call.agency_id
    )
    requested = await call.run(referrals.request_referral, cmd)
    return requested.model_dump(mode="json")


@router.get("/participants/{participant_id}/disclosures")
async def list_disclosures(
    participant_id: UUID, call: StaffRecordCall, years: int | None = Query(None, ge=1, le=50),
    paged: Page = Depends(page),
) -> Json:
    """The participant's disclosure ledger, newest first (only the last ``years`` if given), paged."""
    found = views.disclosures(call.pool, call.agency_id, participant_id, years, call.keys, limit=paged.fetch,
                              offset=paged.offset)
    return await call.listed("disclosures", "list disclosures", participant_id, paged, found)
