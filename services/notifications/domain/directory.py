"""The recipient directory: a local read model of who is responsible for each participant.

Notifications never asks another service who to tell. It folds the events it already receives
(enrolment, specialist assignment, check-ins, discharge, support-contact consent) into one record
per participant. Addresses are not here: they live in notifications' own preference tables. The
participant's time zone (from enrolment, then from each ``ParticipantTimeZoneChanged``) and
preferred contact hours are, since they decide when a routine message to the participant may go out
when the participant has set no quiet hours of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any
from uuid import UUID

from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.vocabulary import Role


@dataclass(frozen=True)
class SupportContact:
    """An opaque support-contact id and whether the participant consented to outreach."""

    support_contact_id: str
    consent_to_contact: bool


@dataclass(frozen=True)
class ContactHours:
    """Local times (of the participant's time zone) between which they prefer to be contacted;
    may wrap past midnight. The start belongs to the window, the end does not."""

    start: time
    end: time


@dataclass(frozen=True)
class ParticipantRecord:
    participant_id: UUID
    agency_id: str | None = None
    specialist_id: str | None = None
    supervisor_id: str | None = None
    consecutive_misses: int = 0
    support_contacts: tuple[SupportContact, ...] = ()
    discharged: bool = False
    #: IANA name from the enrolment or the latest time zone change (None: UTC; a name this machine
    #: does not know counts as UTC).
    time_zone: str | None = None
    preferred_hours: ContactHours | None = None

    @property
    def enrolment_quiet_hours(self) -> QuietHours | None:
        """The participant's quiet hours by default: the time outside their preferred contact
        hours, in their time zone (None without preferred hours)."""
        if self.preferred_hours is None:
            return None
        return QuietHours.outside(self.preferred_hours.start, self.preferred_hours.end, self.time_zone)


@dataclass(frozen=True)
class SetAgencyStaff:
    """Name the caller's agency's on-call supervisor and admin (the top of the ladder)."""

    supervisor_id: str | None = None
    agency_admin_id: str | None = None


@dataclass(frozen=True)
class AgencyStaff:
    """Per-agency fallbacks configured in notifications' database (on-call supervisor, admin)."""

    agency_id: str
    supervisor_id: str | None = None
    agency_admin_id: str | None = None


@dataclass(frozen=True)
class Recipients:
    """Who holds each role for one participant right now (None: nobody known)."""

    participant_id: UUID
    specialist_id: str | None = None
    supervisor_id: str | None = None
    agency_admin_id: str | None = None
    consecutive_misses: int = 0
    support_contacts: tuple[SupportContact, ...] = ()
    discharged: bool = False
    extra: Mapping[Role, str] = field(default_factory=dict)

    def holder(self, role: Role) -> str | None:
        if role is Role.PARTICIPANT:
            return str(self.participant_id)
        if role is Role.SPECIALIST:
            return self.specialist_id
        if role is Role.SUPERVISOR:
            return self.supervisor_id
        if role is Role.AGENCY_ADMIN:
            return self.agency_admin_id
        return self.extra.get(role)


def recipients_for(record: ParticipantRecord, staff: AgencyStaff | None = None) -> Recipients:
    """Resolve roles, falling back to the agency's configured supervisor and admin."""
    return Recipients(
        participant_id=record.participant_id,
        specialist_id=record.specialist_id,
        supervisor_id=record.supervisor_id or (staff.supervisor_id if staff else None),
        agency_admin_id=staff.agency_admin_id if staff else None,
        consecutive_misses=record.consecutive_misses,
        support_contacts=record.support_contacts,
        discharged=record.discharged,
    )


def _merge_contact(current: tuple[SupportContact, ...], item: Mapping[str, Any]) -> tuple[SupportContact, ...]:
    contact = SupportContact(str(item["support_contact_id"]), bool(item.get("consent_to_contact", False)))
    others = [c for c in current if c.support_contact_id != contact.support_contact_id]
    return tuple(sorted([*others, contact], key=lambda c: c.support_contact_id))


def _contact_hours(raw: Any) -> ContactHours | None:
    """``{"start": "09:00:00", "end": "18:00:00"}`` as events carry it; None when absent or
    unreadable (a window nobody can read is no reason to refuse the enrolment)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        start, end = (time.fromisoformat(str(raw[k])).replace(tzinfo=None) for k in ("start", "end"))
    except (KeyError, ValueError):
        return None
    return ContactHours(start, end)


def apply_event(
    record: ParticipantRecord, event_type: str, payload: Mapping[str, Any], agency_id: str | None = None
) -> ParticipantRecord:
    """Fold one event of any service into a participant's record (unknown types change nothing)."""
    if agency_id and not record.agency_id:
        record = replace(record, agency_id=agency_id)
    if event_type == "ParticipantEnrolled":
        contacts: tuple[SupportContact, ...] = ()
        for item in payload.get("support_contacts") or ():
            contacts = _merge_contact(contacts, item)
        time_zone = payload.get("time_zone")
        record = replace(
            record,
            support_contacts=contacts,
            time_zone=str(time_zone) if time_zone else None,
            preferred_hours=_contact_hours(payload.get("preferred_hours")),
        )
    elif event_type == "ParticipantTimeZoneChanged":
        # Staff corrected where the participant lives: their preferred hours stay the same local
        # times, now read in the new zone.
        time_zone = payload.get("time_zone")
        record = replace(record, time_zone=str(time_zone) if time_zone else None)
    elif "support_contact_id" in payload:  # SupportContactConsentChanged and its kin
        record = replace(record, support_contacts=_merge_contact(record.support_contacts, payload))
    if event_type in ("ParticipantEnrolled", "SpecialistAssigned"):
        if payload.get("specialist_id") is not None:
            record = replace(record, specialist_id=str(payload["specialist_id"]))
        if payload.get("supervisor_id") is not None:
            record = replace(record, supervisor_id=str(payload["supervisor_id"]))
    elif event_type == "SpecialistUnassigned":
        record = replace(record, specialist_id=None)
    elif event_type == "CheckInMissed":
        reported = payload.get("consecutive_misses")
        count = int(reported) if reported is not None else record.consecutive_misses + 1
        record = replace(record, consecutive_misses=count)
    elif event_type == "CheckInCompleted":
        record = replace(record, consecutive_misses=0)
    elif event_type in ("ParticipantDischarged", "MonitoringEnded"):
        record = replace(record, discharged=True)
    return record
