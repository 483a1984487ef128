"""Events published by the monitoring service on ``waypoint.monitoring.v1``.

Privacy: a check-in's private note, the words of a newly named warning sign or coping strategy
and a contact log's free text stay in monitoring's database. Events carry counts, ids from the
plan, closed vocabularies and numbers only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.catalogue.intake import HighRiskSituation, TimeZoneName
from shared.catalogue.planning import WarningSignTag
from shared.events import DomainEvent, event

RiskLevel = Literal["low", "moderate", "high", "critical"]
ScheduleBasis = Literal["risk_default", "custom"]


class EscalationCode(StrEnum):
    HIGH_CRAVING = "high_craving"
    TOP_OF_SCALE_CRAVING = "top_of_scale_craving"
    USE_REPORTED = "use_reported"
    USING_NOW = "using_now"
    WARNING_SIGNS = "warning_signs"
    CONSECUTIVE_MISSES = "consecutive_misses"
    RISING_CRAVING = "rising_craving"
    HELP_REQUESTED = "help_requested"


class EscalationReason(BaseModel):
    """One stated reason for an escalation: a code for machines, a sentence for people."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: EscalationCode
    detail: str


class CopingOutcome(BaseModel):
    """A coping strategy used since the last check-in; ``plan_strategy_id`` is None for a new one."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    plan_strategy_id: UUID | None = None
    helped: bool


@event("monitoring")
class MonitoringStarted(DomainEvent):
    """Monitoring took on an enrolled participant (translated from intake's ParticipantEnrolled)."""

    participant_id: UUID
    specialist_id: str | None = None
    recovery_start_date: date | None = None
    started_at: datetime
    #: the participant's IANA time zone as intake recorded it; their days (milestone dates, the
    #: date of a relapse) are counted in it. None: UTC.
    time_zone: TimeZoneName | None = None


@event("monitoring")
class RiskLevelNoted(DomainEvent):
    """Monitoring recorded a risk level decided by intake (assessment or change)."""

    participant_id: UUID
    risk_level: RiskLevel
    source_event: str
    noted_at: datetime


@event("monitoring")
class TimeZoneNoted(DomainEvent):
    """Monitoring recorded the participant's new time zone (translated from intake's
    ParticipantTimeZoneChanged): their days are counted in it from now on. None: UTC."""

    participant_id: UUID
    time_zone: TimeZoneName | None
    noted_at: datetime


@event("monitoring")
class MonitoringEnded(DomainEvent):
    participant_id: UUID
    reason: str
    ended_at: datetime


@event("monitoring")
class CheckInScheduleSet(DomainEvent):
    participant_id: UUID
    interval: timedelta
    grace: timedelta
    basis: ScheduleBasis
    risk_level: RiskLevel | None = None
    next_due_at: datetime
    set_at: datetime


@event("monitoring")
class CheckInCompleted(DomainEvent):
    participant_id: UUID
    check_in_id: UUID
    craving: int
    mood: int
    used_since_last_check_in: bool
    substances_used: tuple[str, ...] = ()
    using_now: bool = False
    plan_warning_sign_ids: tuple[UUID, ...] = ()
    new_warning_sign_count: int = 0
    warning_sign_tags: tuple[WarningSignTag, ...] = ()
    high_risk_situations: tuple[HighRiskSituation, ...] = ()
    coping_strategies: tuple[CopingOutcome, ...] = ()
    support_meeting_attended: bool = False
    completed_at: datetime
    next_due_at: datetime | None = None


@event("monitoring")
class CheckInMissed(DomainEvent):
    """Exactly one per missed window; a window is identified by its ``due_at``."""

    participant_id: UUID
    due_at: datetime
    deadline: datetime
    consecutive_misses: int
    detected_at: datetime


@event("monitoring")
class RiskEscalated(DomainEvent):
    participant_id: UUID
    from_level: RiskLevel
    to_level: RiskLevel
    reasons: tuple[EscalationReason, ...]
    immediate: bool = False
    cause: Literal["check_in", "missed_check_in", "help_request"]
    escalated_at: datetime


@event("monitoring")
class HelpRequested(DomainEvent):
    participant_id: UUID
    help_request_id: UUID
    channel: Literal["app", "sms", "phone", "web"] = "app"
    requested_at: datetime


@event("monitoring")
class MilestoneReached(DomainEvent):
    participant_id: UUID
    milestone: str
    days: int
    reached_on: date
    counted_from: date


@event("monitoring")
class RelapseReported(DomainEvent):
    participant_id: UUID
    relapse_id: UUID
    relapsed_on: date
    substances: tuple[str, ...] = ()
    reported_by: Literal["participant", "specialist"]
    previous_count_start: date | None = None
    days_in_previous_count: int | None = None
    reported_at: datetime


@event("monitoring")
class ContactLogged(DomainEvent):
    participant_id: UUID
    contact_id: UUID
    specialist_id: str
    channel: Literal["phone", "sms", "video", "in_person", "email", "app", "other"]
    direction: Literal["outbound", "inbound"]
    outcome: Literal["reached", "no_answer", "left_message", "declined"]
    occurred_at: datetime
    duration_minutes: int | None = None
