"""Events published by the intake service on ``waypoint.intake.v1``.

No direct identifiers: names, contact details, signatures and free-text descriptions (of
triggers, stressors, referrals) stay in intake's database. Events name people and things by
opaque ids and carry scores, closed vocabularies and generated explanations only.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.events import DomainEvent, event

#: An IANA time zone name as events carry it (intake checks it against the zone database when it
#: is given; a reader that does not know a zone falls back to UTC rather than refusing the event).
TimeZoneName = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
]

# --- closed vocabularies of the published language ------------------------------------------


class Instrument(StrEnum):
    PHQ9 = "PHQ-9"
    GAD7 = "GAD-7"
    BAM = "BAM"
    BARC10 = "BARC-10"
    ASAM = "ASAM"
    RISK_FACTORS = "risk-factors"


class RiskLevel(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


class HighRiskSituation(StrEnum):
    """Marlatt and Gordon's high-risk situations, used as tags on triggers."""

    NEGATIVE_EMOTIONAL_STATES = "negative_emotional_states"
    NEGATIVE_PHYSICAL_STATES = "negative_physical_states"
    POSITIVE_EMOTIONAL_STATES = "positive_emotional_states"
    TESTING_PERSONAL_CONTROL = "testing_personal_control"
    URGES_AND_TEMPTATIONS = "urges_and_temptations"
    INTERPERSONAL_CONFLICT = "interpersonal_conflict"
    SOCIAL_PRESSURE = "social_pressure"
    POSITIVE_EMOTIONAL_STATES_WITH_OTHERS = "positive_emotional_states_with_others"


class StressorCategory(StrEnum):
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    FINANCES = "finances"
    RELATIONSHIPS = "relationships"
    LEGAL = "legal"
    PHYSICAL_HEALTH = "physical_health"
    BEREAVEMENT = "bereavement"
    CAREGIVING = "caregiving"
    OTHER = "other"


class UseFrequency(StrEnum):
    NONE = "none"
    LESS_THAN_MONTHLY = "less_than_monthly"
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    SEVERAL_TIMES_A_WEEK = "several_times_a_week"
    DAILY = "daily"


class Substance(StrEnum):
    """Primary substances, a closed list so that no free text rides along on the bus."""

    ALCOHOL = "alcohol"
    OPIOIDS = "opioids"
    STIMULANTS = "stimulants"
    CANNABIS = "cannabis"
    SEDATIVES = "sedatives"
    HALLUCINOGENS = "hallucinogens"
    INHALANTS = "inhalants"
    TOBACCO = "tobacco"
    GAMBLING = "gambling"
    OTHER = "other"


class Channel(StrEnum):
    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"
    APP = "app"
    IN_PERSON = "in_person"


class Relation(StrEnum):
    PARTNER = "partner"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER_FAMILY = "other_family"
    FRIEND = "friend"
    SPONSOR = "sponsor"
    PEER = "peer"
    OTHER = "other"


class DischargeReason(StrEnum):
    PLAN_COMPLETED = "plan_completed"
    TRANSFERRED_OUT = "transferred_out"
    MOVED_AWAY = "moved_away"
    DECLINED_SUPPORT = "declined_support"
    LOST_CONTACT = "lost_contact"
    DECEASED = "deceased"
    OTHER = "other"


class SafetyConcernKind(StrEnum):
    SELF_HARM_THOUGHTS = "self_harm_thoughts"
    USING_NOW = "using_now"


class RecipientKind(StrEnum):
    NAMED_AGENCY = "named_agency"
    TREATING_PROVIDERS = "treating_providers"


class DisclosurePurpose(StrEnum):
    TREATMENT = "treatment"
    PAYMENT = "payment"
    HEALTH_CARE_OPERATIONS = "health_care_operations"
    CARE_COORDINATION = "care_coordination"
    MENTAL_HEALTH_REFERRAL = "mental_health_referral"


class InformationCategory(StrEnum):
    ENROLMENT = "enrolment"
    ASSESSMENT_SCORES = "assessment_scores"
    RISK_LEVEL = "risk_level"
    PLAN = "plan"
    CHECK_INS = "check_ins"


class ReferralDeclineReason(StrEnum):
    """Why a receiving agency declined a referral (closed list: free text stays in intake)."""

    NO_CAPACITY = "no_capacity"
    NOT_ELIGIBLE = "not_eligible"
    SERVICE_NOT_OFFERED = "service_not_offered"
    PERSON_DECLINED = "person_declined"
    UNABLE_TO_REACH = "unable_to_reach"
    OTHER = "other"


class ReferralWithdrawalReason(StrEnum):
    """Why a pending referral left the receiving agency's inbox without a decision."""

    CONSENT_REVOKED = "consent_revoked"
    CONSENT_EXPIRED = "consent_expired"


class ExpiryEvent(StrEnum):
    DISCHARGE = "discharge"


# --- value objects carried by events ----------------------------------------------------------


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContactWindow(_Value):
    """Hours in which the participant prefers to be contacted, in the participant's ``time_zone``
    (UTC when none was given)."""

    start: time
    end: time


class SupportContactRef(_Value):
    """A support contact without the person: an opaque id, the relation and the consent flag."""

    support_contact_id: UUID
    relation: Relation
    channel: Channel
    consent_to_contact: bool


class Phq9Result(BaseModel):
    model_config = ConfigDict(frozen=True)
    total: int
    severity: str
    item9: int


class Gad7Result(_Value):
    total: int
    severity: str


class BamResult(_Value):
    use: int
    risk_factors: int
    protective_factors: int


class Barc10Result(_Value):
    total: int
    predicts_sustained_remission: bool


class AsamRatings(_Value):
    """Clinician-entered risk ratings 0-4 for the six ASAM dimensions (no ASAM text)."""

    d1: int
    d2: int
    d3: int
    d4: int
    d5: int
    d6: int


class TriggerRef(_Value):
    trigger_id: UUID
    situations: tuple[HighRiskSituation, ...]


class UseHistory(_Value):
    prior_treatment_episodes: int
    prior_relapses: int
    overdose_history: bool


class PatternOfUse(_Value):
    frequency: UseFrequency
    using_now: bool = False
    injects: bool = False
    days_since_last_use: int | None = None


# --- events -----------------------------------------------------------------------------------


@event("intake")
class ParticipantEnrolled(DomainEvent):
    participant_id: UUID
    specialist_id: str | None = None
    recovery_start_date: date | None = None
    primary_substances: tuple[str, ...] = ()
    preferred_channel: str | None = None
    enrolled_at: datetime
    preferred_hours: ContactWindow | None = None
    support_contacts: tuple[SupportContactRef, ...] = ()
    #: IANA time zone the participant lives in (e.g. ``America/New_York``): their days, milestone
    #: dates and contact hours are counted in it. None: UTC.
    time_zone: TimeZoneName | None = None
    #: Set when the enrolment accepted a partner agency's referral: that referral and the consent
    #: it was disclosed under (both opaque ids).
    referral_id: UUID | None = None
    referral_consent_id: UUID | None = None


@event("intake")
class SpecialistAssigned(DomainEvent):
    """A specialist took the participant on, from the queue or by transfer from another."""

    participant_id: UUID
    specialist_id: str
    previous_specialist_id: str | None = None
    assigned_at: datetime


@event("intake")
class SpecialistUnassigned(DomainEvent):
    """The participant went back to the queue of people waiting for a specialist."""

    participant_id: UUID
    previous_specialist_id: str
    unassigned_at: datetime


@event("intake")
class ParticipantTimeZoneChanged(DomainEvent):
    """The participant's time zone was corrected or they moved: their days and contact hours are
    counted in ``time_zone`` from now on (None: UTC)."""

    participant_id: UUID
    time_zone: TimeZoneName | None
    previous_time_zone: TimeZoneName | None = None
    changed_at: datetime


@event("intake")
class SupportContactConsentChanged(DomainEvent):
    """The participant allowed or withdrew permission to contact one support contact."""

    participant_id: UUID
    support_contact_id: UUID
    consent_to_contact: bool
    changed_at: datetime


@event("intake")
class ParticipantDischarged(DomainEvent):
    participant_id: UUID
    reason: DischargeReason
    discharged_at: datetime


@event("intake")
class ParticipantErased(DomainEvent):
    """The participant's agency erased their identifying data and free text (crypto-shredding:
    intake destroyed its key for them). Every service destroys its own keys for this participant
    on this event. It carries no reason and no text: only who (the opaque id) and when."""

    participant_id: UUID
    erased_at: datetime


@event("intake")
class AssessmentCompleted(DomainEvent):
    participant_id: UUID
    assessment_id: UUID
    instruments: tuple[str, ...]
    phq9: Phq9Result | None = None
    risk_level: str
    completed_at: datetime
    gad7: Gad7Result | None = None
    bam: BamResult | None = None
    barc10: Barc10Result | None = None
    asam: AsamRatings | None = None
    triggers: tuple[TriggerRef, ...] = ()
    stressors: tuple[StressorCategory, ...] = ()
    history: UseHistory | None = None
    pattern_of_use: PatternOfUse | None = None
    risk_reasons: tuple[str, ...] = ()


@event("intake")
class RiskLevelChanged(DomainEvent):
    participant_id: UUID
    assessment_id: UUID
    previous_level: RiskLevel | None
    risk_level: RiskLevel
    reasons: tuple[str, ...]
    changed_at: datetime


@event("intake")
class SafetyConcernRaised(DomainEvent):
    """Needs a person now: raised with the assessment that revealed it, never batched."""

    participant_id: UUID
    assessment_id: UUID
    concerns: tuple[SafetyConcernKind, ...]
    phq9_item9: int | None = None
    raised_at: datetime


@event("intake")
class CoOccurringConditionFlagged(DomainEvent):
    participant_id: UUID
    assessment_id: UUID
    instrument: Instrument
    score: int
    severity: str
    flagged_at: datetime


@event("intake")
class ConsentDrafted(DomainEvent):
    """A consent prepared for signature; it discloses nothing until granted."""

    participant_id: UUID
    consent_id: UUID
    disclosing_agency_id: str
    recipient_kind: RecipientKind
    recipient_agency_ids: tuple[str, ...]
    purposes: tuple[DisclosurePurpose, ...]
    information: tuple[InformationCategory, ...]
    expires_on: date | None = None
    expiry_event: ExpiryEvent | None = None
    drafted_at: datetime


@event("intake")
class ConsentGranted(DomainEvent):
    """An active Part 2 consent (or a new version of one). Signature and names stay in intake."""

    participant_id: UUID
    consent_id: UUID
    version: int
    disclosing_agency_id: str
    recipient_kind: RecipientKind
    recipient_agency_ids: tuple[str, ...]
    purposes: tuple[DisclosurePurpose, ...]
    information: tuple[InformationCategory, ...]
    expires_on: date | None = None
    expiry_event: ExpiryEvent | None = None
    granted_at: datetime


@event("intake")
class ConsentRevoked(DomainEvent):
    participant_id: UUID
    consent_id: UUID
    revoked_at: datetime


@event("intake")
class ConsentExpired(DomainEvent):
    participant_id: UUID
    consent_id: UUID
    expired_at: datetime


@event("intake")
class ReferralRequested(DomainEvent):
    """A consented disclosure to a partner agency; carries the consent and the Part 2 notice."""

    participant_id: UUID
    referral_id: UUID
    consent_id: UUID
    recipient_agency_id: str
    purpose: DisclosurePurpose
    information: tuple[InformationCategory, ...]
    redisclosure_notice: str
    requested_at: datetime


@event("intake")
class ReferralAccepted(DomainEvent):
    """The receiving agency accepted the referral and enrolled the person (on the referring
    agency's participant stream: the referring agency's outcome)."""

    participant_id: UUID
    referral_id: UUID
    recipient_agency_id: str
    accepted_at: datetime


@event("intake")
class ReferralDeclined(DomainEvent):
    """The receiving agency declined the referral, with a reason from a closed list."""

    participant_id: UUID
    referral_id: UUID
    recipient_agency_id: str
    reason: ReferralDeclineReason
    declined_at: datetime


@event("intake")
class ReferralWithdrawn(DomainEvent):
    """A pending referral left the receiving agency's inbox: its consent no longer allows it."""

    participant_id: UUID
    referral_id: UUID
    recipient_agency_id: str
    reason: ReferralWithdrawalReason
    withdrawn_at: datetime
