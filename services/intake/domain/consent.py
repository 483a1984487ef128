"""The consent aggregate: draft -> active -> revoked / expired, versioned, and what it covers.

Stream: one per consent. Coverage is checked at a given instant and fails closed: a consent whose
expiry date has passed covers nothing even before anyone recorded ``ConsentExpired``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from services.intake.domain.consent_terms import (
    TPO_PURPOSES,
    ConsentTerms,
    DraftConsent,
    GrantConsent,
    RevokeConsent,
    SignConsent,
)
from shared.catalogue.intake import (
    ConsentDrafted,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    DisclosurePurpose,
    ExpiryEvent,
    InformationCategory,
    RecipientKind,
)
from shared.domain import Aggregate, Conflict, InvalidCommand, NotFound
from shared.events import DomainEvent


class ConsentStatus(StrEnum):
    ABSENT = "absent"
    DRAFT = "draft"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Consent:
    consent_id: UUID | None = None
    participant_id: UUID | None = None
    status: ConsentStatus = ConsentStatus.ABSENT
    version: int = 0
    disclosing_agency_id: str = ""
    recipient_kind: RecipientKind = RecipientKind.NAMED_AGENCY
    recipient_agency_ids: tuple[str, ...] = ()
    purposes: tuple[DisclosurePurpose, ...] = ()
    information: tuple[InformationCategory, ...] = ()
    expires_on: date | None = None
    expiry_event: ExpiryEvent | None = None


def _terms(e: ConsentDrafted | ConsentGranted) -> dict[str, object]:
    return {
        "consent_id": e.consent_id,
        "participant_id": e.participant_id,
        "disclosing_agency_id": e.disclosing_agency_id,
        "recipient_kind": e.recipient_kind,
        "recipient_agency_ids": e.recipient_agency_ids,
        "purposes": e.purposes,
        "information": e.information,
        "expires_on": e.expires_on,
        "expiry_event": e.expiry_event,
    }


def evolve(state: Consent, e: DomainEvent) -> Consent:
    if isinstance(e, ConsentDrafted):
        return replace(state, status=ConsentStatus.DRAFT, **_terms(e))  # type: ignore[arg-type]
    if isinstance(e, ConsentGranted):
        return replace(state, status=ConsentStatus.ACTIVE, version=e.version, **_terms(e))  # type: ignore[arg-type]
    if isinstance(e, ConsentRevoked):
        return replace(state, status=ConsentStatus.REVOKED)
    if isinstance(e, ConsentExpired):
        return replace(state, status=ConsentStatus.EXPIRED)
    return state


consent_aggregate = Aggregate[Consent]("consent", Consent, evolve)


def _terms_of(cmd: ConsentTerms) -> dict[str, object]:
    return {
        "participant_id": cmd.participant_id,
        "consent_id": cmd.consent_id,
        "disclosing_agency_id": cmd.disclosing_agency_id,
        "recipient_kind": cmd.recipients.kind,
        "recipient_agency_ids": cmd.recipients.agency_ids,
        "purposes": cmd.purposes,
        "information": cmd.information,
        "expires_on": cmd.expiry.on,
        "expiry_event": cmd.expiry.event,
    }


def _existing(state: Consent, participant_id: UUID) -> Consent:
    if state.status is ConsentStatus.ABSENT or state.participant_id != participant_id:
        raise NotFound("consent not found", field="consent_id")
    return state


def check_disclosing_agency(cmd: ConsentTerms, recording_agency_id: str) -> None:
    """A consent is recorded by the agency it authorizes to disclose, and by no other."""
    if cmd.disclosing_agency_id != recording_agency_id:
        raise InvalidCommand(
            "the disclosing agency must be the agency recording the consent", field="disclosing_agency_id"
        )


def _check_dates(cmd: ConsentTerms, now: datetime) -> None:
    if cmd.expiry.on is not None and cmd.expiry.on < now.date():
        raise InvalidCommand("the expiry date has already passed", field="expiry.on")


def decide_draft(state: Consent, cmd: DraftConsent, now: datetime) -> list[DomainEvent]:
    if state.status is not ConsentStatus.ABSENT:
        raise Conflict("a consent with this id already exists", field="consent_id")
    _check_dates(cmd, now)
    return [ConsentDrafted(**_terms_of(cmd), drafted_at=now)]


def _check_signature_date(signed_on: date, now: datetime) -> None:
    if signed_on > now.date():
        raise InvalidCommand("the signature date is in the future", field="signature.signed_on")


def decide_grant(state: Consent, cmd: GrantConsent, now: datetime) -> list[DomainEvent]:
    """Grant a new consent, sign a draft with new terms, or amend an active one (next version)."""
    if state.status is not ConsentStatus.ABSENT:
        _existing(state, cmd.participant_id)
    if state.status in (ConsentStatus.REVOKED, ConsentStatus.EXPIRED):
        raise Conflict(f"the consent is {state.status.value}; record a new consent", field="consent_id")
    _check_dates(cmd, now)
    _check_signature_date(cmd.signature.signed_on, now)
    return [ConsentGranted(**_terms_of(cmd), version=state.version + 1, granted_at=now)]


def decide_sign(state: Consent, cmd: SignConsent, now: datetime) -> list[DomainEvent]:
    _existing(state, cmd.participant_id)
    if state.status is not ConsentStatus.DRAFT:
        raise Conflict(f"only a draft can be signed; the consent is {state.status.value}", field="consent_id")
    if state.expires_on is not None and state.expires_on < now.date():
        raise InvalidCommand("the expiry date has already passed", field="expiry.on")
    _check_signature_date(cmd.signature.signed_on, now)
    granted = {k: v for k, v in vars(state).items() if k not in ("status", "version")}
    return [ConsentGranted(**granted, version=state.version + 1, granted_at=now)]


def decide_revoke(state: Consent, cmd: RevokeConsent, now: datetime) -> list[DomainEvent]:
    _existing(state, cmd.participant_id)
    if state.status is not ConsentStatus.ACTIVE:
        raise Conflict(f"only an active consent can be revoked; it is {state.status.value}", field="consent_id")
    return [ConsentRevoked(participant_id=cmd.participant_id, consent_id=cmd.consent_id, revoked_at=now)]


def has_lapsed(state: Consent, at: datetime, participant_discharged: bool = False) -> bool:
    """True once the expiry date is behind us (valid through that day) or the expiry event happened."""
    past_date = state.expires_on is not None and at.date() > state.expires_on
    past_event = state.expiry_event is ExpiryEvent.DISCHARGE and participant_discharged
    return past_date or past_event


def decide_expire(state: Consent, now: datetime, participant_discharged: bool = False) -> list[DomainEvent]:
    """Record the expiry of an active consent whose date or event has passed (a sweep calls this)."""
    if state.status is not ConsentStatus.ACTIVE or not has_lapsed(state, now, participant_discharged):
        return []
    assert state.participant_id and state.consent_id
    return [ConsentExpired(participant_id=state.participant_id, consent_id=state.consent_id, expired_at=now)]


def effective_status(state: Consent, at: datetime, participant_discharged: bool = False) -> ConsentStatus:
    if state.status is ConsentStatus.ACTIVE and has_lapsed(state, at, participant_discharged):
        return ConsentStatus.EXPIRED
    return state.status


def covers(
    state: Consent,
    *,
    disclosing_agency_id: str,
    recipient_agency_id: str,
    purpose: DisclosurePurpose,
    information: tuple[InformationCategory, ...],
    at: datetime,
    participant_discharged: bool = False,
) -> bool:
    """Whether this consent, at ``at``, allows ``disclosing_agency_id`` to disclose ``information`` to
    that recipient for that purpose. A consent names who may disclose: it authorizes nobody else."""
    if effective_status(state, at, participant_discharged) is not ConsentStatus.ACTIVE:
        return False
    if state.disclosing_agency_id != disclosing_agency_id:
        return False
    if purpose not in state.purposes or not set(information) <= set(state.information):
        return False
    if state.recipient_kind is RecipientKind.TREATING_PROVIDERS:
        named_ok = not state.recipient_agency_ids or recipient_agency_id in state.recipient_agency_ids
        return purpose in TPO_PURPOSES and named_ok
    return recipient_agency_id in state.recipient_agency_ids
