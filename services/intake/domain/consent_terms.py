"""Orders about 42 CFR Part 2 consents, and the elements a valid consent must name.

Required elements: the patient, who may disclose, what information, to whom, for what purpose,
the acknowledged right to revoke, an expiry date or event, a signature and its date. A missing
or malformed element is rejected with an error located at that element.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from services.intake.domain.enrolment import Command, Name
from services.intake.domain.validation import count_between
from shared.catalogue.intake import DisclosurePurpose, ExpiryEvent, InformationCategory, RecipientKind

AgencyId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
TPO_PURPOSES = frozenset(
    {DisclosurePurpose.TREATMENT, DisclosurePurpose.PAYMENT, DisclosurePurpose.HEALTH_CARE_OPERATIONS}
)


class Recipients(Command):
    """A named agency (by id), or the general "treating providers / health plans" designation."""

    kind: RecipientKind
    agency_ids: tuple[AgencyId, ...] = Field(default=(), max_length=20, validate_default=True)

    @field_validator("agency_ids")
    @classmethod
    def _named_needs_ids(cls, ids: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("kind") is RecipientKind.NAMED_AGENCY and not ids:
            raise ValueError("a named-agency consent must name at least one agency id")
        return ids


class Expiry(Command):
    """Either a date (the consent is valid through that day) or an event, or both."""

    on: date | None = None
    event: ExpiryEvent | None = None

    @model_validator(mode="after")
    def _date_or_event(self) -> Expiry:
        if self.on is None and self.event is None:
            raise ValueError("an expiry date or an expiry event is required")
        return self


class Signature(Command):
    """Who signed (the participant or a legal representative), how and when. Kept by intake only."""

    signed_by: Name
    method: Literal["electronic", "wet_ink"]
    signed_on: date


class ConsentForm(Command):
    """Every required element but the signature (a draft has exactly these)."""

    disclosing_agency_id: AgencyId
    information: Annotated[tuple[InformationCategory, ...], count_between(1, 10)]
    information_description: Description | None = None
    recipients: Recipients
    purposes: Annotated[tuple[DisclosurePurpose, ...], count_between(1, 10)]
    right_to_revoke_acknowledged: Literal[True]
    expiry: Expiry

    @field_validator("purposes")
    @classmethod
    def _tpo_designation_only_for_tpo(
        cls, purposes: tuple[DisclosurePurpose, ...], info: ValidationInfo
    ) -> tuple[DisclosurePurpose, ...]:
        recipients = info.data.get("recipients")
        if recipients and recipients.kind is RecipientKind.TREATING_PROVIDERS:
            if not set(purposes) <= TPO_PURPOSES:
                raise ValueError("a treating-providers consent covers treatment, payment and operations only")
        return purposes


class SignedConsentForm(ConsentForm):
    signature: Signature


class ConsentTerms(ConsentForm):
    """Terms of one consent of one participant (base of both orders that record terms)."""

    participant_id: UUID
    consent_id: UUID = Field(default_factory=uuid4)


class DraftConsent(ConsentTerms):
    """Prepare a consent for signature. A draft discloses nothing."""


class GrantConsent(ConsentTerms, SignedConsentForm):
    """Sign a consent into force; on an active consent it becomes that consent's next version."""


class SignatureForm(Command):
    signature: Signature


class SignConsent(SignatureForm):
    participant_id: UUID
    consent_id: UUID


class RevokeConsent(Command):
    """The participant revoked the consent (in writing, per Part 2)."""

    participant_id: UUID
    consent_id: UUID
