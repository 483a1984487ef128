"""Routes for enrolment and the relationship: profile, queue, specialist, support contacts, discharge."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from services.intake import views
from services.intake.application import participants
from services.intake.application.participants import order
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeForm,
    DischargeParticipant,
    EnrolmentForm,
    EnrolParticipant,
    ReleaseToQueue,
    SpecialistChoice,
    SupportContactConsentForm,
    TimeZoneForm,
)
from services.intake.entrypoints.common import Json
from shared.limits import MAX_ID_LENGTH, MAX_PAGE_SIZE
from shared.paging import Page, page
from shared.routes import ManagerCall, StaffCall, StaffRecordCall

router = APIRouter(prefix="/v1", tags=["intake"])


def _ids(listed: list[Json]) -> list[UUID]:
    return [UUID(p["participant_id"]) for p in listed]


def _relationship(state: Any) -> Json:
    return {
        "participant_id": str(state.participant_id),
        "status": state.status.value,
        "specialist_id": state.specialist_id,
        "waiting_for_specialist": state.waiting_for_specialist,
    }


@router.post("/participants", status_code=status.HTTP_201_CREATED)
async def enrol(body: EnrolmentForm, call: StaffCall) -> Json:
    participant_id = await call.run(participants.enrol_participant, order(EnrolParticipant, body))
    return {
        "participant_id": str(participant_id),
        "status": "active",
        "specialist_id": body.specialist_id,
        "waiting_for_specialist": body.specialist_id is None,
    }


@router.get("/participants")
async def list_participants(
    call: StaffCall,
    specialist_id: str | None = Query(None, max_length=MAX_ID_LENGTH),
    status_: Literal["active", "discharged"] | None = Query(None, alias="status"),
    participant_ids: list[UUID] | None = Query(
        None, alias="participant_id", max_length=MAX_PAGE_SIZE,
        description="only these participants (repeat the parameter; e.g. the names for one caseload page)",
    ),
    paged: Page = Depends(page),
) -> Json:
    found, next_offset = paged.cut(await views.participants(
        call.pool, call.agency_id, call.keys, specialist_id=specialist_id, status=status_, limit=paged.fetch,
        offset=paged.offset, participant_ids=participant_ids,
    ))
    await call.audit("list participants", *_ids(found))
    return {"participants": found, "next_offset": next_offset}


@router.get("/assignment-queue")
async def assignment_queue(call: StaffCall, paged: Page = Depends(page)) -> Json:
    found, next_offset = paged.cut(
        await views.waiting_queue(call.pool, call.agency_id, call.keys, limit=paged.fetch, offset=paged.offset)
    )
    await call.audit("list assignment queue", *_ids(found))
    return {"waiting": found, "next_offset": next_offset}


@router.get("/specialists")
async def list_specialists(call: StaffCall, paged: Page = Depends(page)) -> Json:
    """Who supports the agency's participants (from assignments), with their caseload sizes: for
    choosing whose caseload to open or to whom to assign. Counts only, no participant data."""
    found, next_offset = paged.cut(
        await views.specialists(call.pool, call.agency_id, limit=paged.fetch, offset=paged.offset)
    )
    return {"specialists": found, "next_offset": next_offset}


@router.get("/participants/{participant_id}")
async def get_participant(participant_id: UUID, call: StaffRecordCall) -> Json:
    found = views.participant(call.pool, call.agency_id, participant_id, call.keys)
    return await call.shown("read participant", participant_id, found)


@router.get("/participants/{participant_id}/access-log")
async def access_log(participant_id: UUID, call: ManagerCall, paged: Page = Depends(page)) -> Json:
    """Every read or export of this participant's data by user (supervisors and agency admins)."""
    found, next_offset = paged.cut(
        await views.access_log(call.pool, call.agency_id, participant_id, limit=paged.fetch, offset=paged.offset)
    )
    await call.audit("read access log", participant_id)
    return {"access_log": found, "next_offset": next_offset}


@router.put("/participants/{participant_id}/specialist")
async def assign_specialist(participant_id: UUID, body: SpecialistChoice, call: StaffCall) -> Json:
    cmd = order(AssignSpecialist, body, participant_id=participant_id)
    return _relationship(await call.run(participants.assign_specialist, cmd))


@router.delete("/participants/{participant_id}/specialist")
async def release_to_queue(participant_id: UUID, call: StaffCall) -> Json:
    cmd = ReleaseToQueue(participant_id=participant_id)
    return _relationship(await call.run(participants.release_to_queue, cmd))


@router.put("/participants/{participant_id}/support-contacts/{support_contact_id}/consent")
async def support_contact_consent(
    participant_id: UUID, support_contact_id: UUID, body: SupportContactConsentForm, call: StaffCall
) -> Json:
    cmd = order(ChangeSupportContactConsent, body, participant_id=participant_id, support_contact_id=support_contact_id)
    await call.run(participants.change_support_contact_consent, cmd)
    return {
        "participant_id": str(participant_id),
        "support_contact_id": str(support_contact_id),
        "consent_to_contact": body.consent_to_contact,
    }


@router.put("/participants/{participant_id}/time-zone")
async def time_zone(participant_id: UUID, body: TimeZoneForm, call: StaffCall) -> Json:
    """Correct where the participant lives; the other services count their days in it from now on."""
    state = await call.run(participants.change_time_zone, order(ChangeTimeZone, body, participant_id=participant_id))
    return {"participant_id": str(participant_id), "time_zone": state.time_zone}


@router.post("/participants/{participant_id}/discharge")
async def discharge(participant_id: UUID, body: DischargeForm, call: StaffCall) -> Json:
    cmd = order(DischargeParticipant, body, participant_id=participant_id)
    state = await call.run(participants.discharge_participant, cmd)
    return {**_relationship(state), "reason": body.reason.value}
