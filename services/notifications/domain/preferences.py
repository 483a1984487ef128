"""Recipient preferences: address, channels and quiet hours, and the delivery plan they imply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.quiet_hours import QuietHours, send_time
from services.notifications.domain.vocabulary import STAFF_ROLES, Channel, Role, Urgency
from shared.domain import InvalidCommand

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PreferenceChoices(BaseModel):
    """How a recipient wants to be reached (the HTTP body; the recipient comes from the path)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = Field(default=None, max_length=320)
    channels: tuple[Channel, ...] | None = None
    quiet_hours: str | None = Field(default=None, max_length=20)
    #: The zone of ``quiet_hours``. Not given: a participant's zone from enrolment, else UTC.
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("email")
    @classmethod
    def _email_looks_like_one(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone_known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            QuietHours.parse("00:00-00:01", value)
        except InvalidCommand as error:
            raise ValueError(error.message) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_parse(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                QuietHours.parse(value)
            except InvalidCommand as error:
                raise ValueError(error.message) from None
        return value


class SetPreferences(PreferenceChoices):
    """Set how one recipient (staff ``sub``, participant id or support-contact id) is reached."""

    recipient_id: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class RecipientPreferences:
    recipient_id: str
    email: str | None = None
    channels: frozenset[Channel] | None = None  # None: every channel the rule chose
    quiet_hours: QuietHours | None = None

    @classmethod
    def from_command(cls, command: SetPreferences) -> RecipientPreferences:
        zone = command.time_zone or "UTC"
        quiet = QuietHours.parse(command.quiet_hours, zone) if command.quiet_hours else None
        channels = frozenset(command.channels) if command.channels is not None else None
        return cls(command.recipient_id, command.email, channels, quiet)


@dataclass(frozen=True)
class PlannedDelivery:
    channel: Channel
    not_before: datetime


def quiet_hours_for(
    intent: NotificationIntent, preferences: RecipientPreferences | None, enrolment_default: QuietHours | None
) -> QuietHours | None:
    """The quiet hours that apply to ``intent``'s recipient: their own when they set any; for a
    participant without their own, ``enrolment_default`` (the time outside the preferred contact
    hours given at enrolment, ``ParticipantRecord.enrolment_quiet_hours``). Nobody else has a default."""
    if preferences is not None and preferences.quiet_hours is not None:
        return preferences.quiet_hours
    if intent.recipient_role is Role.PARTICIPANT:
        return enrolment_default
    return None


def plan_deliveries(
    intent: NotificationIntent,
    preferences: RecipientPreferences | None,
    now: datetime,
    enrolment_default: QuietHours | None = None,
) -> list[PlannedDelivery]:
    """Which of the intent's channels to use and when each may go out.

    A staff inbox entry is always kept (it is the record an alert is acknowledged from) and lands
    at once: it disturbs nobody. An urgent intent never loses all of its channels to preferences.
    Quiet hours (:func:`quiet_hours_for`) hold back routine email only.
    """
    chosen = list(intent.channels)
    if preferences is not None and preferences.channels is not None:
        wanted = [
            c
            for c in chosen
            if c in preferences.channels or (c is Channel.IN_APP and intent.recipient_role in STAFF_ROLES)
        ]
        chosen = wanted if wanted or intent.urgency is not Urgency.URGENT else chosen
    quiet = quiet_hours_for(intent, preferences, enrolment_default)
    plan = []
    for channel in chosen:
        when = send_time(intent.urgency, quiet, now) if channel is Channel.EMAIL else now
        plan.append(PlannedDelivery(channel, when))
    return plan
