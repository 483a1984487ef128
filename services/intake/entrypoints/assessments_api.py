"""Routes for assessments: record, read (raw answers, scores, risk and reasons), FHIR export."""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, status

from services.intake import views
from services.intake.application import assessments
from services.intake.application.participants import order
from services.intake.domain.assessment import AssessmentForm, RecordAssessment
from services.intake.domain.fhir import assessment_bundle
from services.intake.domain.instrument_catalogue import catalogue
from services.intake.entrypoints.common import Json
from shared.paging import Page, page
from shared.routes import StaffCall, StaffOrIntegrationRecordCall, StaffRecordCall

router = APIRouter(prefix="/v1", tags=["intake"])


@router.get("/instruments")
async def list_instruments(call: StaffCall) -> Json:
    """The instruments an assessment takes, for forms: items, answer choices, the request body's
    shape and the score bands (the scoring's own thresholds). The same for every agency."""
    return {"instruments": catalogue()}


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED)
async def record_assessment(participant_id: UUID, body: AssessmentForm, call: StaffCall) -> Json:
    cmd = order(RecordAssessment, body, participant_id=participant_id, assessment_id=uuid4())
    completed, events = await call.run(assessments.record_assessment, cmd)
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
async def list_assessments(participant_id: UUID, call: StaffRecordCall, paged: Page = Depends(page)) -> Json:
    """The participant's assessments, oldest first, paged (``next_offset``)."""
    found = views.assessments(call.pool, call.agency_id, participant_id, call.keys, limit=paged.fetch,
                              offset=paged.offset)
    return await call.listed("assessments", "list assessments", participant_id, paged, found)


@router.get("/participants/{participant_id}/assessments/{assessment_id}")
async def get_assessment(participant_id: UUID, assessment_id: UUID, call: StaffRecordCall) -> Json:
    found = views.assessment(call.pool, call.agency_id, participant_id, assessment_id, call.keys)
    return await call.shown(f"read assessment {assessment_id}", participant_id, found)


@router.get("/participants/{participant_id}/assessments/{assessment_id}/fhir")
async def export_assessment(participant_id: UUID, assessment_id: UUID, call: StaffOrIntegrationRecordCall) -> Json:
    record = await views.assessment(call.pool, call.agency_id, participant_id, assessment_id, call.keys)
    scored, completed_at = views.rescored(record)
    await call.audit(f"export assessment {assessment_id}", participant_id)
    return assessment_bundle(scored, completed_at).model_dump(mode="json")
