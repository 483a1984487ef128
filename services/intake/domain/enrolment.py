"""Orders about the relationship: enrol, assign or release a specialist, support contacts, discharge.

The enrolment order carries the person's identity and contact details because intake must keep
them; the participant aggregate turns it into events without any of them (see ``participant``).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.catalogue.intake import Channel, DischargeReason, Relation, Substance
from shared.time_zones import known_zone

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()\-]{5,19}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
SpecialistId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(known_zone)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _needs_address(channel: Channel, phone: str | None, email: str | None) -> str | None:
    """The field a channel cannot work without, if it is missing."""
    if channel in (Channel.SMS, Channel.PHONE) and not phone:
        return "phone"
    if channel is Channel.EMAIL and not email:
        return "email"
    return None


class ContactDetails(Command):
    """Identity and addresses. Stored by intake only; never part of an event."""

    given_name: Name
    family_name: Name
    preferred_name: Name | None = None
    date_of_birth: date | None = None
    phone: Phone | None = None
    email: Email | None = None


class SupportContact(Command):
    support_contact_id: UUID = Field(default_factory=uuid4)
    name: Name
    relation: Relation
    channel: Channel
    phone: Phone | None = Field(default=None, validate_default=True)
    email: Email | None = Field(default=None, validate_default=True)
    consent_to_contact: bool

    @field_validator("phone", "email")
    @classmethod
    def _reachable_on_channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if value is None and channel is not None and _needs_address(channel, None, None) == info.field_name:
            raise ValueError(f"{info.field_name} is required for channel {channel.value}")
        return value


class ContactHours(Command):
    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> ContactHours:
        if self.start == self.end:
            raise ValueError("start and end must differ (a window may wrap past midnight)")
        return self


class EnrolmentForm(Command):
    """What a specialist records at enrolment. Only a name is required: a display name or contact
    details (the rest can follow). Without a specialist the person waits in the assignment queue."""

    display_name: Name | None = None
    specialist_id: SpecialistId | None = None
    recovery_start_date: date | None = None
    primary_substances: tuple[Substance, ...] = Field(default=(), max_length=10)
    preferred_channel: Channel | None = None
    preferred_hours: ContactHours | None = None
    #: IANA time zone of the participant; their days and contact hours are counted in it (UTC if none).
    time_zone: ZoneName | None = None
    contact: ContactDetails | None = Field(default=None, validate_default=True)
    support_contacts: tuple[SupportContact, ...] = Field(default=(), max_length=20)

    @field_validator("contact")
    @classmethod
    def _named_and_reachable(cls, contact: ContactDetails | None, info: ValidationInfo) -> ContactDetails | None:
        if contact is None and info.data.get("display_name") is None:
            raise ValueError("a display_name or contact details are required")
        channel: Channel | None = info.data.get("preferred_channel")
        if channel is None:
            return contact
        missing = _needs_address(channel, contact.phone if contact else None, contact.email if contact else None)
        if missing:
            raise ValueError(f"{missing} is required for the preferred channel {channel.value}")
        return contact

    @field_validator("support_contacts")
    @classmethod
    def _distinct_ids(cls, contacts: tuple[SupportContact, ...]) -> tuple[SupportContact, ...]:
        ids = [c.support_contact_id for c in contacts]
        if len(ids) != len(set(ids)):
            raise ValueError("support_contact_id values must be unique")
        return contacts


class EnrolParticipant(EnrolmentForm):
    participant_id: UUID = Field(default_factory=uuid4)
    #: set by intake (never by the HTTP form) when the enrolment accepts a partner's referral
    referral_id: UUID | None = None
    referral_consent_id: UUID | None = None


class SpecialistChoice(Command):
    specialist_id: SpecialistId


class AssignSpecialist(SpecialistChoice):
    """Assign from the queue, or transfer to another specialist."""

    participant_id: UUID


class ReleaseToQueue(Command):
    """The current specialist hands the participant back to the queue."""

    participant_id: UUID


class TimeZoneForm(Command):
    """Where the participant lives now (an IANA name; null: count in UTC)."""

    time_zone: ZoneName | None


class ChangeTimeZone(TimeZoneForm):
    participant_id: UUID


class SupportContactConsentForm(Command):
    consent_to_contact: bool


class ChangeSupportContactConsent(SupportContactConsentForm):
    participant_id: UUID
    support_contact_id: UUID


class DischargeForm(Command):
    reason: DischargeReason


class DischargeParticipant(DischargeForm):
    participant_id: UUID
