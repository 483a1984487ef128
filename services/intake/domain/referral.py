"""Consent-gated referrals to partner agencies, and the disclosure-ledger entry each one leaves.

Fail closed: "no such participant" and "no consent that covers this" raise the very same
``NotFound``, so a caller cannot learn whether a person exists from a refused referral.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import Field

from services.intake.domain.consent import Consent, covers
from services.intake.domain.consent_terms import AgencyId, Description
from services.intake.domain.enrolment import Command
from services.intake.domain.participant import Participant, ParticipantStatus
from services.intake.domain.validation import count_between
from shared.catalogue.intake import DisclosurePurpose, InformationCategory, ReferralRequested
from shared.domain import Conflict, NotFound
from shared.events import DomainEvent

REDISCLOSURE_NOTICE = (
    "42 CFR part 2 notice: the records disclosed to you are protected by federal confidentiality "
    "rules (42 CFR part 2). Those rules prohibit any further disclosure of information in these "
    "records that would identify a person as having a substance use disorder, unless the person "
    "has given written consent or the further disclosure is otherwise permitted by 42 CFR part 2. "
    "The records may not be used to investigate or prosecute the person or to bring criminal "
    "charges against them."
)
NOT_FOUND_MESSAGE = "participant not found"


class ReferralForm(Command):
    recipient_agency_id: AgencyId
    purpose: DisclosurePurpose
    information: Annotated[tuple[InformationCategory, ...], count_between(1, 10)]
    note: Description | None = None  # for the receiving agency; kept by intake, never in an event


class RequestReferral(ReferralForm):
    """The form plus what the service supplies: the path's participant, a new id, and the caller's
    agency, which is the one disclosing (never taken from the request body)."""

    participant_id: UUID
    referral_id: UUID = Field(default_factory=uuid4)
    disclosing_agency_id: AgencyId


def covering_consent(
    consents: Iterable[Consent], cmd: RequestReferral, at: datetime, participant_discharged: bool
) -> Consent | None:
    """The highest-version covering consent of this participant, if any."""
    eligible = [
        c
        for c in consents
        if c.participant_id == cmd.participant_id
        and covers(
            c,
            disclosing_agency_id=cmd.disclosing_agency_id,
            recipient_agency_id=cmd.recipient_agency_id,
            purpose=cmd.purpose,
            information=cmd.information,
            at=at,
            participant_discharged=participant_discharged,
        )
    ]
    return max(eligible, key=lambda c: (c.version, str(c.consent_id)), default=None)


def decide_request_referral(
    participant: Participant, consents: Iterable[Consent], cmd: RequestReferral, now: datetime
) -> list[DomainEvent]:
    if participant.status is ParticipantStatus.NOT_ENROLLED:
        raise NotFound(NOT_FOUND_MESSAGE, field="participant_id")
    discharged = participant.status is ParticipantStatus.DISCHARGED
    consent = covering_consent(consents, cmd, now, discharged)
    if consent is None or consent.consent_id is None:
        raise NotFound(NOT_FOUND_MESSAGE, field="participant_id")
    if discharged:
        raise Conflict("participant has been discharged", field="participant_id")
    if cmd.referral_id in participant.referral_ids:
        raise Conflict("a referral with this id was already requested", field="referral_id")
    return [
        ReferralRequested(
            participant_id=cmd.participant_id,
            referral_id=cmd.referral_id,
            consent_id=consent.consent_id,
            recipient_agency_id=cmd.recipient_agency_id,
            purpose=cmd.purpose,
            information=cmd.information,
            redisclosure_notice=REDISCLOSURE_NOTICE,
            requested_at=now,
        )
    ]


@dataclass(frozen=True)
class DisclosureEntry:
    """One line of the append-only disclosure ledger ("who received my records")."""

    disclosure_id: UUID
    participant_id: UUID
    disclosed_at: datetime
    recipient_agency_id: str
    purpose: DisclosurePurpose
    information: tuple[InformationCategory, ...]
    consent_id: UUID


def ledger_entry(e: ReferralRequested) -> DisclosureEntry:
    return DisclosureEntry(
        disclosure_id=e.referral_id,
        participant_id=e.participant_id,
        disclosed_at=e.requested_at,
        recipient_agency_id=e.recipient_agency_id,
        purpose=e.purpose,
        information=e.information,
        consent_id=e.consent_id,
    )


def years_cutoff(years: int, now: datetime) -> datetime:
    """The instant ``years`` years before ``now`` (on 29 February: the 28th of that year)."""
    day = 28 if (now.month, now.day) == (2, 29) else now.day  # 29 February has no twin in most years
    return now.replace(year=now.year - years, day=day)


def within_years(entries: Iterable[DisclosureEntry], years: int, now: datetime) -> list[DisclosureEntry]:
    """Entries of the last ``years`` years, newest first (Part 2 asks for 3 and 6)."""
    cutoff = years_cutoff(years, now)
    return sorted((e for e in entries if e.disclosed_at >= cutoff), key=lambda e: e.disclosed_at, reverse=True)
