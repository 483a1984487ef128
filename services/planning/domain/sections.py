"""The sections of a relapse-prevention plan: what the participant and specialist agreed on.

Everything here is content (free text, names, numbers) and so never travels on Kafka; see
``outline.py`` for the structural summary that does. Items carry an ``id`` so that a revision can
say which goal moved where; a client may leave it out for a new item and the plan assigns one.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.planning.domain.strategies import STRATEGIES
from shared.catalogue.planning import (
    GoalStatus,
    SituationCategory,
    SupportGroupKind,
    WarningSignTag,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()\-]{5,24}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
MAX_ITEMS = 50
ContactRole = Literal["sponsor", "family", "friend", "peer", "partner", "counsellor", "clinician", "other"]
GoalOrigin = Literal["specialist", "participant", "assessment"]
ReferralStatus = Literal["suggested", "attending", "declined", "stopped"]


def _unique(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(set(values)) != len(values):
        raise ValueError("values must not repeat")
    return values


def _known_strategy(key: str | None) -> str | None:
    if key is not None and key not in STRATEGIES:
        raise ValueError(f"unknown strategy library key {key!r}")
    return key


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID | None = None


class WarningSign(_Item):
    text: Text
    tags: Annotated[tuple[WarningSignTag, ...], Field(max_length=8), AfterValidator(_unique)] = ()


class CopingStrategy(_Item):
    text: Text
    library_key: Annotated[str | None, AfterValidator(_known_strategy)] = None


class HighRiskSituation(_Item):
    category: SituationCategory
    trigger_id: UUID | None = None
    description: Text
    strategies: Annotated[tuple[CopingStrategy, ...], Field(max_length=20)] = ()


class SupportContact(_Item):
    name: ShortText
    role: ContactRole
    may_contact: bool = False
    phone: Phone | None = None
    email: Email | None = None


class HealthyAlternative(_Item):
    activity: Text
    instead_of: Annotated[tuple[SituationCategory, ...], AfterValidator(_unique)] = ()


class RoutineEntry(_Item):
    at: time
    activity: Text


class Goal(_Item):
    description: Text
    status: GoalStatus = GoalStatus.PROPOSED
    target_date: date | None = None
    origin: GoalOrigin = "specialist"


class SupportGroupReferral(_Item):
    kind: SupportGroupKind
    name: ShortText | None = None
    schedule: ShortText | None = None
    status: ReferralStatus = "suggested"


class ModuleAssignment(BaseModel):
    """An education module on the plan; managed by assign/complete, not by editing sections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: str
    assigned_at: datetime
    due_on: date | None = None
    completed_at: datetime | None = None


WarningSigns = Annotated[tuple[WarningSign, ...], Field(max_length=MAX_ITEMS)]
Situations = Annotated[tuple[HighRiskSituation, ...], Field(max_length=MAX_ITEMS)]
SupportNetwork = Annotated[tuple[SupportContact, ...], Field(max_length=MAX_ITEMS)]
Alternatives = Annotated[tuple[HealthyAlternative, ...], Field(max_length=MAX_ITEMS)]
Routine = Annotated[tuple[RoutineEntry, ...], Field(max_length=MAX_ITEMS)]
Goals = Annotated[tuple[Goal, ...], Field(max_length=MAX_ITEMS)]
SupportGroups = Annotated[tuple[SupportGroupReferral, ...], Field(max_length=MAX_ITEMS)]


class PlanContent(BaseModel):
    """The editable sections of one plan version (education lives beside it, see ``PlanDocument``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning_signs: WarningSigns = ()
    high_risk_situations: Situations = ()
    support_network: SupportNetwork = ()
    healthy_alternatives: Alternatives = ()
    daily_routine: Routine = ()
    goals: Goals = ()
    support_groups: SupportGroups = ()


EDITABLE_SECTIONS: tuple[str, ...] = tuple(PlanContent.model_fields)


class SectionsPatch(BaseModel):
    """The sections a revision replaces; a section left out stays as it was.

    An unknown key is rejected (``extra="forbid"``) so that a typo never silently drops an edit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning_signs: WarningSigns | None = None
    high_risk_situations: Situations | None = None
    support_network: SupportNetwork | None = None
    healthy_alternatives: Alternatives | None = None
    daily_routine: Routine | None = None
    goals: Goals | None = None
    support_groups: SupportGroups | None = None

    @model_validator(mode="before")
    @classmethod
    def _education_is_not_edited_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "education" in data:
            raise ValueError("section 'education' is changed by assigning or completing modules, not by editing")
        return data

    def given(self) -> dict[str, tuple[Any, ...]]:
        """The sections present in this patch."""
        return {name: getattr(self, name) for name in EDITABLE_SECTIONS if getattr(self, name) is not None}
