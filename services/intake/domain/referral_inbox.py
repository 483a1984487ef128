"""A partner agency's referral inbox: what the receiving agency may see of a referral, and its
decisions (accept, decline) or the referral's withdrawal when its consent stops allowing it.

Minimum necessary: the receiving agency sees only the information categories the consent
covers, as they stood when the referral was made (the disclosure is a fact at a point in time),
always with the Part 2 redisclosure notice. Accepting enrols the person in the receiving agency
with nothing copied beyond those categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.intake.domain.consent_terms import Description
from services.intake.domain.enrolment import Command, EnrolParticipant, Name, SpecialistId
from shared.catalogue.intake import (
    InformationCategory,
    ReferralAccepted,
    ReferralDeclined,
    ReferralDeclineReason,
    ReferralWithdrawalReason,
    ReferralWithdrawn,
)
from shared.domain import Conflict, InvalidCommand, NotFound

NOT_FOUND_MESSAGE = "referral not found"
#: Categories another service holds: the inbox names them, intake has nothing of them to show.
HELD_ELSEWHERE = {InformationCategory.PLAN: "planning", InformationCategory.CHECK_INS: "monitoring"}


class ReferralStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class AcceptReferral(Command):
    """The receiving agency takes the person on. ``display_name`` is needed only when the consent
    did not cover the enrolment details (the agency then learns the name from the person)."""

    specialist_id: SpecialistId | None = None
    display_name: Name | None = None


class DeclineReferral(Command):
    reason: ReferralDeclineReason
    note: Description | None = None  # stays in intake, never in an event


class AcceptIncomingReferral(AcceptReferral):
    """The form plus the referral it answers (from the path)."""

    referral_id: UUID


class DeclineIncomingReferral(DeclineReferral):
    referral_id: UUID


@dataclass(frozen=True)
class Referral:
    """A referral as both agencies' intake sees it."""

    referral_id: UUID
    participant_id: UUID
    disclosing_agency_id: str
    recipient_agency_id: str
    consent_id: UUID
    information: tuple[InformationCategory, ...]
    status: ReferralStatus
    disclosed: dict[str, Any]


def disclosed_packet(
    information: tuple[InformationCategory, ...],
    participant: dict[str, Any],
    assessments: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the receiving agency may see: one entry per consented category, nothing else.

    ``participant`` is intake's row of the person, ``assessments`` their scored assessments
    (oldest first). Contact details and support contacts are never part of it.
    """
    packet: dict[str, Any] = {}
    for category in information:
        if category is InformationCategory.ENROLMENT:
            packet["enrolment"] = {
                "display_name": participant.get("display_name"),
                "recovery_start_date": _iso(participant.get("recovery_start_date")),
                "primary_substances": list(participant.get("primary_substances") or []),
                "time_zone": participant.get("time_zone"),
                "enrolled_at": _iso(participant.get("enrolled_at")),
            }
        elif category is InformationCategory.ASSESSMENT_SCORES:
            packet["assessment_scores"] = [
                {"completed_at": _iso(a["completed_at"]), "instruments": a["instruments"], "scores": a["scores"]}
                for a in assessments
            ]
        elif category is InformationCategory.RISK_LEVEL:
            packet["risk_level"] = {"level": participant.get("risk_level"),
                                    "reasons": list(participant.get("risk_reasons") or [])}
        else:
            packet[category.value] = {"held_by": HELD_ELSEWHERE[category]}
    return packet


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def require_visible_to(referral: Referral | None, agency_id: str) -> Referral:
    """The receiving agency's view: another agency's referral answers exactly like a missing one."""
    if referral is None or referral.recipient_agency_id != agency_id:
        raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
    return referral


def require_pending(referral: Referral) -> None:
    if referral.status is ReferralStatus.WITHDRAWN:
        # The consent no longer allows the disclosure: fail closed, like a referral never made.
        raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
    if referral.status is not ReferralStatus.PENDING:
        raise Conflict(f"referral already {referral.status.value}", field="referral_id")


def enrolment_order(referral: Referral, cmd: AcceptReferral, new_participant_id: UUID) -> EnrolParticipant:
    """The receiving agency's enrolment: only what the consented enrolment details allow."""
    details = referral.disclosed.get("enrolment") if InformationCategory.ENROLMENT in referral.information else None
    display_name = cmd.display_name or (details or {}).get("display_name")
    if not display_name:
        raise InvalidCommand("display_name is required: the consent does not cover the enrolment details",
                             field="display_name")
    fields: dict[str, Any] = {"participant_id": new_participant_id, "display_name": display_name,
                              "specialist_id": cmd.specialist_id}
    if details:
        fields |= {"recovery_start_date": details.get("recovery_start_date"),
                   "primary_substances": tuple(details.get("primary_substances") or ()),
                   "time_zone": details.get("time_zone")}
    return EnrolParticipant.model_validate(fields)


def decide_accept(referral: Referral, consent_allows: bool, now: datetime) -> list[ReferralAccepted]:
    require_pending(referral)
    if not consent_allows:
        raise NotFound(NOT_FOUND_MESSAGE, field="referral_id")
    return [ReferralAccepted(participant_id=referral.participant_id, referral_id=referral.referral_id,
                             recipient_agency_id=referral.recipient_agency_id, accepted_at=now)]


def decide_decline(referral: Referral, cmd: DeclineReferral, now: datetime) -> list[ReferralDeclined]:
    require_pending(referral)
    return [ReferralDeclined(participant_id=referral.participant_id, referral_id=referral.referral_id,
                             recipient_agency_id=referral.recipient_agency_id, reason=cmd.reason,
                             declined_at=now)]


def decide_withdraw(referral: Referral, reason: ReferralWithdrawalReason, now: datetime) -> list[ReferralWithdrawn]:
    if referral.status is not ReferralStatus.PENDING:
        return []  # decided referrals keep their outcome: the disclosure already happened
    return [ReferralWithdrawn(participant_id=referral.participant_id, referral_id=referral.referral_id,
                              recipient_agency_id=referral.recipient_agency_id, reason=reason, withdrawn_at=now)]
