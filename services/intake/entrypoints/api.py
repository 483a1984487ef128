"""Intake HTTP API: translate requests into orders, run them in a unit of work, answer.

Every route needs a bearer token of the participant's agency; another agency's participant
answers exactly like a missing one. Reads of a participant's data are written to the access log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, status

from services.intake import views
from services.intake.adapters.records import log_access
from services.intake.application import assessments, consents, participants, referrals
from services.intake.application.participants import order
from services.intake.domain.assessment import AssessmentForm, RecordAssessment
from services.intake.domain.consent_terms import (
    ConsentForm,
    DraftConsent,
    GrantConsent,
    RevokeConsent,
    SignatureForm,
    SignConsent,
    SignedConsentForm,
)
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    DischargeForm,
    DischargeParticipant,
    EnrolmentForm,
    ReleaseToQueue,
    SpecialistChoice,
    SupportContactConsentForm,
)
from services.intake.domain.fhir import assessment_bundle
from services.intake.domain.referral import ReferralForm, RequestReferral
from shared.auth import Principal
from shared.http import require_roles
from shared.runtime import Runtime, command_metadata, runtime

router = APIRouter(prefix="/v1", tags=["intake"])
staff = require_roles("specialist", "supervisor", "agency_admin")
staff_or_integration = require_roles("specialist", "supervisor", "agency_admin", "integration")
Json = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _relationship(state: Any) -> Json:
    return {
        "participant_id": str(state.participant_id),
        "status": state.status.value,
        "specialist_id": state.specialist_id,
        "waiting_for_specialist": state.waiting_for_specialist,
    }


def _consent(state: Any) -> Json:
    return {
        "consent_id": str(state.consent_id),
        "participant_id": str(state.participant_id),
        "status": state.status.value,
        "version": state.version,
    }


# --- participants and the relationship ---------------------------------------------------------


@router.post("/participants", status_code=status.HTTP_201_CREATED)
async def enrol(
    body: EnrolmentForm, request: Request, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    async with rt.uow(command_metadata(request, caller)) as uow:
        participant_id = await participants.enrol_participant(body, uow, caller.agency_id, _now())
    return {
        "participant_id": str(participant_id),
        "status": "active",
        "specialist_id": body.specialist_id,
        "waiting_for_specialist": body.specialist_id is None,
    }


@router.get("/participants")
async def list_participants(
    specialist_id: str | None = None,
    status_: str | None = Query(None, alias="status"),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    found = await views.participants(rt.pool, caller.agency_id, specialist_id=specialist_id, status=status_)
    return {"participants": found}


@router.get("/assignment-queue")
async def assignment_queue(caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)) -> Json:
    return {"waiting": await views.waiting_queue(rt.pool, caller.agency_id)}


@router.get("/participants/{participant_id}")
async def get_participant(
    participant_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.participant(rt.pool, caller.agency_id, participant_id)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, "read participant")
    return found


@router.put("/participants/{participant_id}/specialist")
async def assign_specialist(
    participant_id: UUID,
    body: SpecialistChoice,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(AssignSpecialist, body, participant_id=participant_id)
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await participants.assign_specialist(cmd, uow, caller.agency_id, _now())
    return _relationship(state)


@router.delete("/participants/{participant_id}/specialist")
async def release_to_queue(
    participant_id: UUID, request: Request, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await participants.release_to_queue(
            ReleaseToQueue(participant_id=participant_id), uow, caller.agency_id, _now()
        )
    return _relationship(state)


@router.put("/participants/{participant_id}/support-contacts/{support_contact_id}/consent")
async def support_contact_consent(
    participant_id: UUID,
    support_contact_id: UUID,
    body: SupportContactConsentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(ChangeSupportContactConsent, body, participant_id=participant_id, support_contact_id=support_contact_id)
    async with rt.uow(command_metadata(request, caller)) as uow:
        await participants.change_support_contact_consent(cmd, uow, caller.agency_id, _now())
    return {
        "participant_id": str(participant_id),
        "support_contact_id": str(support_contact_id),
        "consent_to_contact": body.consent_to_contact,
    }


@router.post("/participants/{participant_id}/discharge")
async def discharge(
    participant_id: UUID,
    body: DischargeForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(DischargeParticipant, body, participant_id=participant_id)
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await participants.discharge_participant(cmd, uow, caller.agency_id, _now())
    return {**_relationship(state), "reason": body.reason.value}


# --- assessments -------------------------------------------------------------------------------


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED)
async def record_assessment(
    participant_id: UUID,
    body: AssessmentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(RecordAssessment, body, participant_id=participant_id, assessment_id=uuid4())
    async with rt.uow(command_metadata(request, caller)) as uow:
        completed, events = await assessments.record_assessment(cmd, uow, caller.agency_id, _now())
    scores = completed.model_dump(mode="json", include={"phq9", "gad7", "bam", "barc10", "asam"}, exclude_none=True)
    return {
        "assessment_id": str(cmd.assessment_id),
        "participant_id": str(participant_id),
        "instruments": list(completed.instruments),
        "scores": scores,
        "risk_level": completed.risk_level,
        "risk_reasons": list(completed.risk_reasons),
        "events": [type(e).event_name for e in events],
    }


@router.get("/participants/{participant_id}/assessments")
async def list_assessments(
    participant_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.assessments(rt.pool, caller.agency_id, participant_id)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, "list assessments")
    return {"assessments": found}


@router.get("/participants/{participant_id}/assessments/{assessment_id}")
async def get_assessment(
    participant_id: UUID, assessment_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.assessment(rt.pool, caller.agency_id, participant_id, assessment_id)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, f"read assessment {assessment_id}")
    return found


@router.get("/participants/{participant_id}/assessments/{assessment_id}/fhir")
async def export_assessment(
    participant_id: UUID,
    assessment_id: UUID,
    caller: Principal = Depends(staff_or_integration),
    rt: Runtime = Depends(runtime),
) -> Json:
    record = await views.assessment(rt.pool, caller.agency_id, participant_id, assessment_id)
    scored, completed_at = views.rescored(record)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, f"export assessment {assessment_id}")
    return assessment_bundle(scored, completed_at).model_dump(mode="json")


# --- consents, referrals, disclosures ----------------------------------------------------------


@router.post("/participants/{participant_id}/consents", status_code=status.HTTP_201_CREATED)
async def grant_consent(
    participant_id: UUID,
    body: SignedConsentForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(GrantConsent, body, participant_id=participant_id, consent_id=uuid4())
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await consents.grant_consent(cmd, uow, caller.agency_id, _now())
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
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await consents.draft_consent(cmd, uow, caller.agency_id, _now())
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
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await consents.grant_consent(cmd, uow, caller.agency_id, _now())
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
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await consents.sign_consent(cmd, uow, caller.agency_id, _now())
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
    async with rt.uow(command_metadata(request, caller)) as uow:
        state = await consents.revoke_consent(cmd, uow, caller.agency_id, _now())
    return _consent(state)


@router.get("/participants/{participant_id}/consents")
async def list_consents(
    participant_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.consents(rt.pool, caller.agency_id, participant_id)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, "list consents")
    return {"consents": found}


@router.get("/participants/{participant_id}/consents/{consent_id}")
async def get_consent(
    participant_id: UUID, consent_id: UUID, caller: Principal = Depends(staff), rt: Runtime = Depends(runtime)
) -> Json:
    found = await views.consent(rt.pool, caller.agency_id, participant_id, consent_id)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, f"read consent {consent_id}")
    return found


@router.post("/participants/{participant_id}/referrals", status_code=status.HTTP_201_CREATED)
async def request_referral(
    participant_id: UUID,
    body: ReferralForm,
    request: Request,
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    cmd = order(RequestReferral, body, participant_id=participant_id, referral_id=uuid4())
    async with rt.uow(command_metadata(request, caller)) as uow:
        requested = await referrals.request_referral(cmd, uow, caller.agency_id, _now())
    return requested.model_dump(mode="json")


@router.get("/participants/{participant_id}/disclosures")
async def list_disclosures(
    participant_id: UUID,
    years: int | None = Query(None, ge=1, le=50),
    caller: Principal = Depends(staff),
    rt: Runtime = Depends(runtime),
) -> Json:
    found = await views.disclosures(rt.pool, caller.agency_id, participant_id, years)
    await log_access(rt.pool, participant_id, caller.agency_id, caller.sub, "list disclosures")
    return {"disclosures": found}
