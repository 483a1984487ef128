"""Events published by the planning service on ``waypoint.planning.v1``.

These events carry the *structure* of a relapse-prevention plan (ids, versions, which sections
changed, closed-vocabulary tags and categories, counts), never its content: warning-sign text,
coping strategies, support-contact names and numbers stay in planning's own database. The closed
vocabularies below are part of the published language so that consumers can rely on them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, event


class PlanStatus(StrEnum):
    """Plan lifecycle, a subset of FHIR CarePlan.status."""

    DRAFT = "draft"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    REVOKED = "revoked"


class GoalStatus(StrEnum):
    """Goal lifecycle, a subset of FHIR Goal.lifecycleStatus."""

    PROPOSED = "proposed"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PlanSection(StrEnum):
    WARNING_SIGNS = "warning_signs"
    HIGH_RISK_SITUATIONS = "high_risk_situations"
    SUPPORT_NETWORK = "support_network"
    HEALTHY_ALTERNATIVES = "healthy_alternatives"
    DAILY_ROUTINE = "daily_routine"
    GOALS = "goals"
    EDUCATION = "education"
    SUPPORT_GROUPS = "support_groups"


class SituationCategory(StrEnum):
    """High-risk situations after Marlatt & Gordon (intrapersonal, then interpersonal)."""

    NEGATIVE_EMOTIONAL_STATES = "negative_emotional_states"
    NEGATIVE_PHYSICAL_STATES = "negative_physical_states"
    POSITIVE_EMOTIONAL_STATES = "positive_emotional_states"
    TESTING_PERSONAL_CONTROL = "testing_personal_control"
    URGES_AND_TEMPTATIONS = "urges_and_temptations"
    INTERPERSONAL_CONFLICT = "interpersonal_conflict"
    SOCIAL_PRESSURE = "social_pressure"
    POSITIVE_EMOTIONAL_STATES_WITH_OTHERS = "positive_emotional_states_with_others"


class WarningSignTag(StrEnum):
    """Closed tags for free-text warning signs (the text itself never leaves planning)."""

    MOOD_CHANGE = "mood-change"
    SLEEP_DISRUPTION = "sleep-disruption"
    ISOLATION = "isolation"
    IRRITABILITY = "irritability"
    ROMANTICISING_USE = "romanticising-use"
    SKIPPING_SUPPORT = "skipping-support"
    ROUTINE_BREAKDOWN = "routine-breakdown"
    STRESS_BUILD_UP = "stress-build-up"
    CRAVING = "craving"
    PHYSICAL_HEALTH = "physical-health"
    RELATIONSHIP_STRAIN = "relationship-strain"
    MONEY_OR_WORK_STRESS = "money-or-work-stress"
    OVERCONFIDENCE = "overconfidence"
    SECRECY = "secrecy"
    BOREDOM = "boredom"


class SupportGroupKind(StrEnum):
    TWELVE_STEP = "twelve-step"
    SMART_RECOVERY = "smart-recovery"
    REFUGE_RECOVERY = "refuge-recovery"
    LIFERING = "lifering"
    WOMEN_FOR_SOBRIETY = "women-for-sobriety"
    CELEBRATE_RECOVERY = "celebrate-recovery"
    PEER_SUPPORT_GROUP = "peer-support-group"
    FAMILY_SUPPORT_GROUP = "family-support-group"
    OTHER = "other"


class ReviewReason(StrEnum):
    RISK_LEVEL_ROSE = "risk-level-rose"
    RELAPSE_REPORTED = "relapse-reported"


class ReviewUrgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class StatusChangeReason(StrEnum):
    REQUESTED = "requested"
    PARTICIPANT_DISCHARGED = "participant-discharged"


RiskLevelName = Literal["low", "moderate", "high", "critical"]


class PlanOutline(BaseModel):
    """The shape of a plan version without its content: counts, categories, tags and ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning_signs: int = 0
    warning_sign_tags: tuple[WarningSignTag, ...] = ()
    high_risk_situations: int = 0
    situation_categories: tuple[SituationCategory, ...] = ()
    coping_strategies: int = 0
    support_contacts: int = 0
    contactable_contact_ids: tuple[UUID, ...] = ()
    healthy_alternatives: int = 0
    routine_entries: int = 0
    goals_proposed: int = 0
    goals_active: int = 0
    goals_completed: int = 0
    goals_cancelled: int = 0
    support_group_kinds: tuple[SupportGroupKind, ...] = ()
    education_assigned: tuple[str, ...] = ()
    education_completed: tuple[str, ...] = ()


@event("planning")
class PlanCreated(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    version: int
    status: str
    source_assessment_id: UUID | None = None
    outline: PlanOutline = PlanOutline()
    created_at: datetime | None = None


@event("planning")
class PlanUpdated(DomainEvent):
    """A new plan version; ``sections_changed`` may be empty for a review sign-off."""

    participant_id: UUID
    plan_id: UUID
    version: int
    status: PlanStatus
    sections_changed: tuple[PlanSection, ...]
    outline: PlanOutline
    review_completed: bool = False
    updated_at: datetime


@event("planning")
class PlanStatusChanged(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    version: int
    from_status: PlanStatus
    to_status: PlanStatus
    reason: StatusChangeReason
    changed_at: datetime


@event("planning")
class GoalStatusChanged(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    goal_id: UUID
    version: int
    from_status: GoalStatus
    to_status: GoalStatus
    changed_at: datetime


@event("planning")
class PlanReviewRequested(DomainEvent):
    """The plan should be reviewed with the participant by ``due_on``."""

    participant_id: UUID
    plan_id: UUID
    review_id: UUID
    plan_version: int
    reason: ReviewReason
    urgency: ReviewUrgency
    due_on: date
    risk_level: RiskLevelName | None = None
    previous_risk_level: RiskLevelName | None = None
    cause_id: UUID | None = None
    requested_at: datetime


@event("planning")
class EducationModuleAssigned(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    module: str
    version: int
    due_on: date | None = None
    assigned_at: datetime


@event("planning")
class EducationModuleCompleted(DomainEvent):
    participant_id: UUID
    plan_id: UUID
    module: str
    version: int
    completed_at: datetime
