"""Intake's command handlers on the in-memory unit of work (no database, no Kafka): what each
writes to its streams, the outbox and intake's own tables, and what each refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest

from services.intake.adapters.tables import InMemoryTables
from services.intake.application import assessments, consents, participants, referrals
from services.intake.application.consents import ExpireConsent
from services.intake.domain.consent_terms import DraftConsent, RevokeConsent, SignConsent
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeParticipant,
    ReleaseToQueue,
)
from services.intake.domain.referral import RequestReferral
from shared.catalogue.intake import (
    AssessmentCompleted,
    ConsentDrafted,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    ParticipantDischarged,
    ParticipantEnrolled,
    ParticipantTimeZoneChanged,
    ReferralRequested,
    SpecialistAssigned,
    SpecialistUnassigned,
    SupportContactConsentChanged,
)
from shared.clock import ManualClock
from shared.domain import Conflict, DomainError, NotFound
from shared.events import DomainEvent
from shared.memory import InMemoryUnitsOfWork
from shared.uow import UnitOfWork

from .intake_builders import NOW, assessment_order, consent_order, enrol_order, phq9

pytestmark = pytest.mark.unit

AGENCY = "agency-a"
C = TypeVar("C")
R = TypeVar("R")


class Intake:
    """Intake's write side in memory: each command in its own unit of work, as the API runs it."""

    def __init__(self) -> None:
        self.tables = InMemoryTables()
        self.clock = ManualClock(NOW)
        self.units = InMemoryUnitsOfWork("intake", clock=self.clock, tables=self.tables)

    async def run(self, handle: Callable[[C, UnitOfWork], Awaitable[R]], command: C, agency: str = AGENCY) -> R:
        async with self.units.open(agency_id=agency, actor="spec-1") as uow:
            return await handle(command, uow)

    def published(self) -> list[type[DomainEvent]]:
        return [type(e) for e in self.units.published()]

    async def enrolled(self, **overrides: Any) -> UUID:
        return await self.run(participants.enrol_participant, enrol_order(**overrides))

    async def granted(self, pid: UUID, **overrides: Any) -> UUID:
        order = consent_order(pid, **overrides)
        await self.run(consents.grant_consent, order)
        return order.consent_id


@pytest.fixture
def intake() -> Intake:
    return Intake()


async def test_enrolment_appends_the_event_and_writes_the_identity_row(intake: Intake) -> None:
    pid = await intake.enrolled()
    assert intake.published() == [ParticipantEnrolled]
    assert intake.tables.participants[pid] == (AGENCY, "active")
    assert intake.tables.enrolments[pid].contact is not None  # the name stays in intake's table


async def test_enrolling_the_same_participant_twice_is_refused(intake: Intake) -> None:
    pid = await intake.enrolled()
    with pytest.raises(DomainError):
        await intake.enrolled(participant_id=pid)
    assert intake.published() == [ParticipantEnrolled]


async def test_assign_specialist_and_release_to_queue_project_the_directory(intake: Intake) -> None:
    pid = await intake.enrolled()
    state = await intake.run(participants.assign_specialist, AssignSpecialist(participant_id=pid, specialist_id="s-2"))
    assert state.specialist_id == "s-2"
    state = await intake.run(participants.release_to_queue, ReleaseToQueue(participant_id=pid))
    assert state.waiting_for_specialist
    assert [type(s.event) for s in intake.tables.directory_events][-2:] == [SpecialistAssigned, SpecialistUnassigned]


async def test_a_participant_of_another_agency_answers_like_a_missing_one(intake: Intake) -> None:
    pid = await intake.enrolled()
    with pytest.raises(NotFound):
        await intake.run(participants.assign_specialist, AssignSpecialist(participant_id=pid, specialist_id="s-2"),
                         agency="agency-b")
    with pytest.raises(NotFound):
        await intake.run(participants.release_to_queue, ReleaseToQueue(participant_id=uuid4()))


async def test_support_contact_consent_and_time_zone_changes(intake: Intake) -> None:
    pid = await intake.enrolled()
    contact = intake.tables.enrolments[pid].support_contacts[0].support_contact_id
    change = ChangeSupportContactConsent(participant_id=pid, support_contact_id=contact, consent_to_contact=False)
    await intake.run(participants.change_support_contact_consent, change)
    state = await intake.run(participants.change_time_zone,
                             ChangeTimeZone(participant_id=pid, time_zone="America/New_York"))
    assert state.time_zone == "America/New_York"
    assert intake.published()[-2:] == [SupportContactConsentChanged, ParticipantTimeZoneChanged]


async def test_discharge_ends_the_consents_that_were_to_expire_at_discharge(intake: Intake) -> None:
    pid = await intake.enrolled()
    kept = await intake.granted(pid)
    ending = await intake.granted(pid, expiry={"event": "discharge"})
    await intake.run(participants.discharge_participant, DischargeParticipant(participant_id=pid, reason="moved_away"))
    assert intake.published()[-2:] == [ParticipantDischarged, ConsentExpired]
    assert (intake.tables.consents[kept].status, intake.tables.consents[ending].status) == ("active", "expired")
    assert intake.tables.participants[pid] == (AGENCY, "discharged")


async def test_recording_an_assessment_keeps_the_raw_answers_in_intake(intake: Intake) -> None:
    pid = await intake.enrolled()
    completed, events = await intake.run(assessments.record_assessment,
                                         assessment_order(pid, phq9=phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)))
    assert isinstance(completed, AssessmentCompleted) and type(events[0]) is AssessmentCompleted
    [(scored, agency, risk)] = intake.tables.assessments
    assert (agency, risk[0]) == (AGENCY, completed.risk_level)
    assert scored.command.participant_id == pid


async def test_consents_are_drafted_signed_and_revoked(intake: Intake) -> None:
    pid = await intake.enrolled()
    granted = consent_order(pid)
    draft = DraftConsent.model_validate(granted.model_dump(exclude={"signature"}))
    await intake.run(consents.draft_consent, draft)
    assert intake.tables.consents[draft.consent_id].status == "draft"
    state = await intake.run(consents.sign_consent,
                             SignConsent(participant_id=pid, consent_id=draft.consent_id, signature=granted.signature))
    assert (state.version, intake.tables.consents[draft.consent_id].status) == (1, "active")
    await intake.run(consents.revoke_consent, RevokeConsent(participant_id=pid, consent_id=draft.consent_id))
    assert intake.tables.consents[draft.consent_id].status == "revoked"
    assert intake.published()[-3:] == [ConsentDrafted, ConsentGranted, ConsentRevoked]


async def test_after_discharge_a_consent_can_be_revoked_but_not_granted(intake: Intake) -> None:
    pid = await intake.enrolled()
    consent_id = await intake.granted(pid)
    await intake.run(participants.discharge_participant, DischargeParticipant(participant_id=pid, reason="moved_away"))
    with pytest.raises(Conflict):
        await intake.granted(pid)
    await intake.run(consents.revoke_consent, RevokeConsent(participant_id=pid, consent_id=consent_id))
    assert intake.tables.consents[consent_id].status == "revoked"


async def test_the_expiry_sweep_ends_a_consent_past_its_date_once(intake: Intake) -> None:
    pid = await intake.enrolled()
    consent_id = await intake.granted(pid, expiry={"on": (NOW + timedelta(days=3)).date().isoformat()})
    order = ExpireConsent(consent_id, pid, NOW + timedelta(days=4))
    assert await intake.run(consents.expire_consent, order) is True
    assert await intake.run(consents.expire_consent, order) is False
    assert intake.tables.consents[consent_id].status == "expired"


async def test_a_referral_under_a_covering_consent_opens_the_recipients_inbox_row(intake: Intake) -> None:
    pid = await intake.enrolled()
    consent_id = await intake.granted(pid)
    order = RequestReferral(participant_id=pid, disclosing_agency_id=AGENCY, recipient_agency_id="agency-mh",
                            purpose="mental_health_referral", information=["risk_level"], note="urgent")
    requested = await intake.run(referrals.request_referral, order)
    assert isinstance(requested, ReferralRequested) and requested.consent_id == consent_id
    # the ledger line is written when the recipient is shown it (tests/integration/integrations)
    [(referral, agency)] = intake.tables.referrals.values()
    assert (referral.recipient_agency_id, referral.consent_id, agency) == ("agency-mh", consent_id, AGENCY)


async def test_a_referral_without_consent_or_from_another_agency_discloses_nothing(intake: Intake) -> None:
    pid = await intake.enrolled()
    order = RequestReferral(participant_id=pid, disclosing_agency_id=AGENCY, recipient_agency_id="agency-mh",
                            purpose="mental_health_referral", information=["risk_level"])
    with pytest.raises(DomainError):
        await intake.run(referrals.request_referral, order)
    with pytest.raises(NotFound):
        await intake.run(referrals.request_referral, order, agency="agency-b")
    assert intake.tables.referrals == {} and ReferralRequested not in intake.published()
