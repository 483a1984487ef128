"""Orders the monitoring aggregate accepts (besides ``RecordCheckIn`` in ``checkin.py``).

Commands validate their own content, so the HTTP layer turns a failed validation into a 422.
Free text (relapse note, contact note) is accepted here but stays in monitoring's database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.monitoring.domain.checkin import Substance
from services.monitoring.domain.durations import parse_duration, parse_interval
from shared.catalogue.intake import TimeZoneName
from shared.catalogue.monitoring import ContactLogged, HelpRequested, RiskLevel
from shared.domain import InvalidCommand

PrivateText = Annotated[str, StringConstraints(max_length=4000)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartMonitoring(_Command):
    participant_id: UUID
    specialist_id: str | None = None
    recovery_start_date: date | None = None
    time_zone: TimeZoneName | None = None  # the participant's IANA zone; None counts days in UTC
    source_event: str = "ParticipantEnrolled"


class NoteRiskLevel(_Command):
    participant_id: UUID
    risk_level: RiskLevel
    source_event: str


class NoteTimeZone(_Command):
    participant_id: UUID
    time_zone: TimeZoneName | None = None  # None: UTC


class EndMonitoring(_Command):
    participant_id: UUID
    reason: str = "discharged"


class CheckInScheduleChoice(_Command):
    """A custom cadence (ISO-8601 ``interval`` and ``grace``), or the risk-level default when
    ``interval`` is left out. Grace defaults to zero with a custom interval."""

    interval: str | None = None
    grace: str | None = None

    @field_validator("interval")
    @classmethod
    def _interval_is_iso(cls, value: str | None) -> str | None:
        return value if value is None else _checked(parse_interval, value, "interval")

    @field_validator("grace")
    @classmethod
    def _grace_is_iso(cls, value: str | None) -> str | None:
        return value if value is None else _checked(parse_duration, value, "grace")

    @model_validator(mode="after")
    def _grace_fits_interval(self) -> CheckInScheduleChoice:
        if self.interval is None:
            if self.grace is not None:
                raise ValueError("grace needs an interval; leave both out to use the risk-level default")
            return self
        grace, interval = self.grace_delta, self.interval_delta
        if grace is not None and interval is not None and grace > interval:
            raise ValueError("grace may not be longer than the interval")
        return self

    @property
    def interval_delta(self) -> timedelta | None:
        return None if self.interval is None else parse_interval(self.interval)

    @property
    def grace_delta(self) -> timedelta | None:
        if self.interval is None:
            return None
        return timedelta(0) if self.grace is None else parse_duration(self.grace, field="grace")


class SetCheckInSchedule(CheckInScheduleChoice):
    """Order: set a participant's check-in cadence."""

    participant_id: UUID


def _checked(parse: Callable[..., timedelta], value: str, field: str) -> str:
    """Run a duration parser inside a pydantic validator (which only reports ValueError)."""
    try:
        parse(value, field=field)
    except InvalidCommand as error:
        raise ValueError(error.message) from None
    return value.strip().upper()


class DetectMissedCheckIns(_Command):
    """Order from the scheduler: record every window of this participant missed by now."""

    participant_id: UUID


class HelpRequest(_Command):
    channel: Literal["app", "sms", "phone", "web"] = "app"
    message: PrivateText | None = None


class RequestHelp(HelpRequest):
    """Order: the participant asks for help now (SOS)."""

    participant_id: UUID
    help_request_id: UUID


class RelapseReport(_Command):
    relapsed_on: date
    substances: tuple[Substance, ...] = Field(default=(), max_length=10)
    note: PrivateText | None = None


class ReportRelapse(RelapseReport):
    """Order: record a relapse (restarts the milestone count)."""

    participant_id: UUID
    relapse_id: UUID
    reported_by: Literal["participant", "specialist"] = "participant"


class ContactReport(_Command):
    channel: Literal["phone", "sms", "video", "in_person", "email", "app", "other"]
    direction: Literal["outbound", "inbound"] = "outbound"
    outcome: Literal["reached", "no_answer", "left_message", "declined"] = "reached"
    occurred_at: AwareDatetime | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    note: PrivateText | None = None


class LogContact(ContactReport):
    """Order: record an outreach or conversation by a specialist."""

    participant_id: UUID
    contact_id: UUID
    specialist_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CheckMilestones(_Command):
    participant_id: UUID


def help_requested(cmd: RequestHelp, now: datetime) -> HelpRequested:
    return HelpRequested(
        participant_id=cmd.participant_id,
        help_request_id=cmd.help_request_id,
        channel=cmd.channel,
        requested_at=now,
    )


def contact_logged(cmd: LogContact, now: datetime) -> ContactLogged:
    return ContactLogged(
        participant_id=cmd.participant_id,
        contact_id=cmd.contact_id,
        specialist_id=cmd.specialist_id,
        channel=cmd.channel,
        direction=cmd.direction,
        outcome=cmd.outcome,
        occurred_at=cmd.occurred_at or now,
        duration_minutes=cmd.duration_minutes,
    )
