"""The participant aggregate: enrolment, the specialist relationship, assessments and risk.

Stream: one per participant. Events carry no names or contact details; the enrolment order's
identity and addresses are stored beside the stream by the application, never in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from services.intake.domain.assessment import ScoredAssessment
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeParticipant,
    EnrolParticipant,
    ReleaseToQueue,
)
from services.intake.domain.risk import RiskInputs
from shared.catalogue.intake import (
    AssessmentCompleted,
    ContactWindow,
    Instrument,
    ParticipantDischarged,
    ParticipantEnrolled,
    ParticipantTimeZoneChanged,
    ReferralRequested,
    RiskLevel,
    RiskLevelChanged,
    SpecialistAssigned,
    SpecialistUnassigned,
    SupportContactConsentChanged,
    SupportContactRef,
)
from shared.domain import Aggregate, Conflict, InvalidCommand, NotFound
from shared.events import DomainEvent
from shared.time_zones import local_date


class ParticipantStatus(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    ACTIVE = "active"
    DISCHARGED = "discharged"


@dataclass(frozen=True)
class Participant:
    participant_id: UUID | None = None
    status: ParticipantStatus = ParticipantStatus.NOT_ENROLLED
    specialist_id: str | None = None
    recovery_start_date: date | None = None
    support_contacts: dict[UUID, bool] = field(default_factory=dict)
    time_zone: str | None = None
    risk_level: RiskLevel | None = None
    risk_inputs: RiskInputs = field(default_factory=RiskInputs)
    assessment_ids: frozenset[UUID] = frozenset()
    referral_ids: frozenset[UUID] = frozenset()

    @property
    def waiting_for_specialist(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE and self.specialist_id is None


def merge_inputs(inputs: RiskInputs, e: AssessmentCompleted | ScoredAssessment) -> RiskInputs:
    """Newer sections replace older ones; sections an assessment left out keep their last value."""
    has_risk_factors = Instrument.RISK_FACTORS.value in {str(i) for i in e.instruments}
    return replace(
        inputs,
        phq9=e.phq9 or inputs.phq9,
        gad7=e.gad7 or inputs.gad7,
        bam=e.bam or inputs.bam,
        barc10=e.barc10 or inputs.barc10,
        asam=e.asam or inputs.asam,
        triggers=e.triggers if has_risk_factors else inputs.triggers,
        stressors=e.stressors if has_risk_factors else inputs.stressors,
        history=e.history or inputs.history,
        pattern_of_use=e.pattern_of_use or inputs.pattern_of_use,
    )


def evolve(state: Participant, e: DomainEvent) -> Participant:
    if isinstance(e, ParticipantEnrolled):
        contacts = {c.support_contact_id: c.consent_to_contact for c in e.support_contacts}
        return replace(
            state,
            participant_id=e.participant_id,
            status=ParticipantStatus.ACTIVE,
            specialist_id=e.specialist_id,
            recovery_start_date=e.recovery_start_date,
            support_contacts=contacts,
            time_zone=e.time_zone,
        )
    if isinstance(e, ParticipantTimeZoneChanged):
        return replace(state, time_zone=e.time_zone)
    if isinstance(e, SpecialistAssigned):
        return replace(state, specialist_id=e.specialist_id)
    if isinstance(e, SpecialistUnassigned):
        return replace(state, specialist_id=None)
    if isinstance(e, SupportContactConsentChanged):
        return replace(state, support_contacts={**state.support_contacts, e.support_contact_id: e.consent_to_contact})
    if isinstance(e, ParticipantDischarged):
        return replace(state, status=ParticipantStatus.DISCHARGED)
    if isinstance(e, AssessmentCompleted):
        return replace(
            state,
            risk_inputs=merge_inputs(state.risk_inputs, e),
            risk_level=RiskLevel(e.risk_level),
            assessment_ids=state.assessment_ids | {e.assessment_id},
        )
    if isinstance(e, RiskLevelChanged):
        return replace(state, risk_level=e.risk_level)
    if isinstance(e, ReferralRequested):
        return replace(state, referral_ids=state.referral_ids | {e.referral_id})
    return state


participant_aggregate = Aggregate[Participant]("participant", Participant, evolve)


def require_active(state: Participant) -> Participant:
    if state.status is ParticipantStatus.NOT_ENROLLED:
        raise NotFound("participant not found", field="participant_id")
    if state.status is ParticipantStatus.DISCHARGED:
        raise Conflict("participant has been discharged", field="participant_id")
    return state


def decide_enrol(state: Participant, cmd: EnrolParticipant, now: datetime) -> list[DomainEvent]:
    if state.status is not ParticipantStatus.NOT_ENROLLED:
        raise Conflict("participant is already enrolled", field="participant_id")
    if cmd.recovery_start_date and cmd.recovery_start_date > local_date(now, cmd.time_zone):
        raise InvalidCommand("recovery start date is in the future", field="recovery_start_date")
    return [
        ParticipantEnrolled(
            participant_id=cmd.participant_id,
            specialist_id=cmd.specialist_id,
            recovery_start_date=cmd.recovery_start_date,
            primary_substances=cmd.primary_substances,
            preferred_channel=cmd.preferred_channel.value if cmd.preferred_channel else None,
            preferred_hours=ContactWindow(**cmd.preferred_hours.model_dump()) if cmd.preferred_hours else None,
            time_zone=cmd.time_zone,
            referral_id=cmd.referral_id,
            referral_consent_id=cmd.referral_consent_id,
            support_contacts=tuple(
                SupportContactRef(
                    support_contact_id=c.support_contact_id,
                    relation=c.relation,
                    channel=c.channel,
                    consent_to_contact=c.consent_to_contact,
                )
                for c in cmd.support_contacts
            ),
            enrolled_at=now,
        )
    ]


def _unless_already(state: Participant, already: bool, change: Callable[[], DomainEvent]) -> list[DomainEvent]:
    """A change to an active participant; none when they are already so (a repeated order is a no-op)."""
    require_active(state)
    return [] if already else [change()]


def decide_assign_specialist(state: Participant, cmd: AssignSpecialist, now: datetime) -> list[DomainEvent]:
    return _unless_already(state, state.specialist_id == cmd.specialist_id, lambda: SpecialistAssigned(
        participant_id=cmd.participant_id, specialist_id=cmd.specialist_id,
        previous_specialist_id=state.specialist_id, assigned_at=now,
    ))


def decide_release_to_queue(state: Participant, cmd: ReleaseToQueue, now: datetime) -> list[DomainEvent]:
    require_active(state)
    if state.specialist_id is None:
        raise Conflict("participant is already waiting for a specialist", field="participant_id")
    return [
        SpecialistUnassigned(
            participant_id=cmd.participant_id, previous_specialist_id=state.specialist_id, unassigned_at=now
        )
    ]


def decide_change_support_contact_consent(
    state: Participant, cmd: ChangeSupportContactConsent, now: datetime
) -> list[DomainEvent]:
    require_active(state)
    if cmd.support_contact_id not in state.support_contacts:
        raise NotFound("support contact not found", field="support_contact_id")
    already = state.support_contacts[cmd.support_contact_id] == cmd.consent_to_contact
    return _unless_already(state, already, lambda: SupportContactConsentChanged(
        participant_id=cmd.participant_id, support_contact_id=cmd.support_contact_id,
        consent_to_contact=cmd.consent_to_contact, changed_at=now,
    ))


def decide_change_time_zone(state: Participant, cmd: ChangeTimeZone, now: datetime) -> list[DomainEvent]:
    return _unless_already(state, state.time_zone == cmd.time_zone, lambda: ParticipantTimeZoneChanged(
        participant_id=cmd.participant_id, time_zone=cmd.time_zone, previous_time_zone=state.time_zone,
        changed_at=now,
    ))


def decide_discharge(state: Participant, cmd: DischargeParticipant, now: datetime) -> list[DomainEvent]:
    require_active(state)
    return [ParticipantDischarged(participant_id=cmd.participant_id, reason=cmd.reason, discharged_at=now)]
