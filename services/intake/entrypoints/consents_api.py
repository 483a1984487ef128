"""Routes for Part 2 consents, consent-gated referrals and the disclosure ledger."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, status

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
from shared.access_audit import AccessAudit, auditor
from shared.auth import Principal
from shared.minimum_necessary import record_staff
from shared.roles import staff
from shared.runtime import Runtime, runtime

router = APIRouter(prefix="/v1", tags=["intake"])


def _consent(state: Any) -> Json:
    return {
        "consent_id": str(state.consent_id),
        "participant_id": str(state.participant_id),
        "status": state.status.value,
        "version": state.version,
    }


@router.post("/participants/{participant_id}/consents", status_code=status.HTTP_201_CREATED)
async def grant_consent(
    participant_id: UUID,
    body: SignedConsentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(GrantConsent, body, participant_id=participant_id, consent_id=uuid4())
    state = await rt.run(consents.grant_consent, cmd, request, caller)
    return _consent(state)


@router.post("/participants/{participant_id}/consent-drafts", status_code=status.HTTP_201_CREATED)
async def draft_consent(
    participant_id: UUID,
    body: ConsentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(DraftConsent, body, participant_id=participant_id, consent_id=uuid4())
    state = await rt.run(consents.draft_consent, cmd, request, caller)
    return _consent(state)


@router.put("/participants/{participant_id}/consents/{consent_id}")
async def amend_consent(
    participant_id: UUID,
    consent_id: UUID,
    body: SignedConsentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    await views.consent(rt.pool, caller.agency_id, participant_id, consent_id)  # amend only what exists
    cmd = order(GrantConsent, body, participant_id=participant_id, consent_id=consent_id)
    state = await rt.run(consents.grant_consent, cmd, request, caller)
    return _consent(state)


@router.post("/participants/{participant_id}/consents/{consent_id}/signature")
async def sign_consent(
    participant_id: UUID,
    consent_id: UUID,
    body: SignatureForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(SignConsent, body, participant_id=participant_id, consent_id=consent_id)
    state = await rt.run(consents.sign_consent, cmd, request, caller)
    return _consent(state)


@router.post("/participants/{participant_id}/consents/{consent_id}/revocation")
async def revoke_consent(
    participant_id: UUID,
    consent_id: UUID,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = RevokeConsent(participant_id=participant_id, consent_id=consent_id)
    state = await rt.run(consents.revoke_consent, cmd, request, caller)
    return _consent(state)


@router.get("/participants/{participant_id}/consents")
async def list_consents(
    participant_id: UUID, caller: Principal = Depends(record_staff),
    audit: AccessAudit = Depends(auditor), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.consents(rt.pool, caller.agency_id, participant_id)
    await audit("list consents", participant_id)
    return {"consents": found}


@router.get("/participants/{participant_id}/consents/{consent_id}")
async def get_consent(
    participant_id: UUID, consent_id: UUID, caller: Principal = Depends(record_staff),
    audit: AccessAudit = Depends(auditor), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.consent(rt.pool, caller.agency_id, participant_id, consent_id)
    await audit(f"read consent {consent_id}", participant_id)
    return found


@router.post("/participants/{participant_id}/referrals", status_code=status.HTTP_201_CREATED)
async def request_referral(
    participant_id: UUID,
    body: ReferralForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(
        RequestReferral, body, participant_id=participant_id, referral_id=uuid4(), disclosing_agency_id=caller.agency_id
    )
    requested = await rt.run(referrals.request_referral, cmd, request, caller)
    return requested.model_dump(mode="json")


@router.get("/participants/{participant_id}/disclosures")
async def list_disclosures(
    participant_id: UUID,
    years: int | None = Query(None, ge=1, le=50),
    caller: Principal = Depends(record_staff),
    audit: AccessAudit = Depends(auditor),
    rt: Runtime = Depends(runtime),
) -> Json:
    found = await views.disclosures(rt.pool, caller.agency_id, participant_id, years)
    await audit("list disclosures", participant_id)
    return {"disclosures": found}
