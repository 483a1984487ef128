"""The check-in command and the escalation rules it feeds.

The rules return stated reasons; the aggregate turns reasons into a ``RiskEscalated`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from services.monitoring.domain import risk_levels
from shared.catalogue.intake import HighRiskSituation
from shared.catalogue.intake import Substance as CatalogueSubstance
from shared.catalogue.monitoring import (
    CopingOutcome,
    EscalationCode,
    EscalationReason,
    RiskLevel,
)
from shared.catalogue.planning import WarningSignTag

HIGH_CRAVING = 8
TOP_OF_SCALE_CRAVING = 10
WARNING_SIGNS_THRESHOLD = 3
RISING_CRAVING_CHECK_INS = 3

def _normalised(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


#: intake's closed substance vocabulary (case and surrounding spaces forgiven): no free text on the bus
Substance = Annotated[CatalogueSubstance, BeforeValidator(_normalised)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ObservedWarningSign(BaseModel):
    """A warning sign from the plan (by id) or a new one named in a few private words.

    The optional closed ``tag`` is what other services may see about a new sign.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    plan_sign_id: UUID | None = None
    description: ShortText | None = None
    tag: WarningSignTag | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ObservedWarningSign:
        if (self.plan_sign_id is None) == (self.description is None):
            raise ValueError("give either plan_sign_id or description")
        return self


class UsedCopingStrategy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    plan_strategy_id: UUID | None = None
    description: ShortText | None = None
    helped: bool

    @model_validator(mode="after")
    def _one_of(self) -> UsedCopingStrategy:
        if (self.plan_strategy_id is None) == (self.description is None):
            raise ValueError("give either plan_strategy_id or description")
        return self


class CheckInAnswers(BaseModel):
    """What a participant tells at a check-in (the HTTP body). The private note never leaves monitoring."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    craving: int = Field(ge=0, le=10)
    mood: int = Field(ge=1, le=5)
    used_since_last_check_in: bool = False
    substances_used: tuple[Substance, ...] = Field(default=(), max_length=10)
    using_now: bool = False
    warning_signs: tuple[ObservedWarningSign, ...] = Field(default=(), max_length=30)
    high_risk_situations: tuple[HighRiskSituation, ...] = ()
    coping_strategies: tuple[UsedCopingStrategy, ...] = Field(default=(), max_length=30)
    support_meeting_attended: bool = False
    private_note: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @model_validator(mode="after")
    def _use_is_consistent(self) -> CheckInAnswers:
        if self.substances_used and not self.used_since_last_check_in:
            raise ValueError("substances_used needs used_since_last_check_in = true")
        if self.using_now and not self.used_since_last_check_in:
            raise ValueError("using_now needs used_since_last_check_in = true")
        return self

    @property
    def plan_warning_sign_ids(self) -> tuple[UUID, ...]:
        return tuple(dict.fromkeys(s.plan_sign_id for s in self.warning_signs if s.plan_sign_id))

    @property
    def warning_sign_tags(self) -> tuple[WarningSignTag, ...]:
        return tuple(dict.fromkeys(s.tag for s in self.warning_signs if s.tag))

    @property
    def new_warning_sign_count(self) -> int:
        return sum(1 for s in self.warning_signs if s.plan_sign_id is None)

    @property
    def coping_outcomes(self) -> tuple[CopingOutcome, ...]:
        return tuple(
            CopingOutcome(plan_strategy_id=c.plan_strategy_id, helped=c.helped) for c in self.coping_strategies
        )


class RecordCheckIn(CheckInAnswers):
    """Order: record a participant's check-in."""

    participant_id: UUID
    check_in_id: UUID


def _reason(code: EscalationCode, detail: str) -> EscalationReason:
    return EscalationReason(code=code, detail=detail)


def check_in_reasons(check_in: CheckInAnswers, previous_cravings: Sequence[int]) -> list[EscalationReason]:
    """Why this check-in calls for escalation (empty if it does not).

    ``previous_cravings`` are the cravings of earlier check-ins, oldest first.
    """
    reasons: list[EscalationReason] = []
    craving = check_in.craving
    if craving >= TOP_OF_SCALE_CRAVING:
        reasons.append(_reason(EscalationCode.TOP_OF_SCALE_CRAVING, f"craving {craving}/10 is at the top of the scale"))
    elif craving >= HIGH_CRAVING:
        reasons.append(_reason(EscalationCode.HIGH_CRAVING, f"craving {craving}/10 is {HIGH_CRAVING} or more"))
    if check_in.using_now:
        reasons.append(_reason(EscalationCode.USING_NOW, "participant reports using now"))
    elif check_in.used_since_last_check_in:
        which = ", ".join(check_in.substances_used) or "substance not stated"
        reasons.append(_reason(EscalationCode.USE_REPORTED, f"use reported since the last check-in ({which})"))
    signs = len(check_in.warning_signs)
    if signs >= WARNING_SIGNS_THRESHOLD:
        reasons.append(
            _reason(
                EscalationCode.WARNING_SIGNS,
                f"{signs} warning signs observed ({WARNING_SIGNS_THRESHOLD} or more)",
            )
        )
    recent = [*previous_cravings[-(RISING_CRAVING_CHECK_INS - 1) :], craving]
    if len(recent) == RISING_CRAVING_CHECK_INS and all(a < b for a, b in pairwise(recent)):
        trail = " -> ".join(str(c) for c in recent)
        reasons.append(_reason(EscalationCode.RISING_CRAVING, f"craving rose over the last three check-ins ({trail})"))
    return reasons


#: Level each reason asks for: a fixed floor, or None for "one step up from the current level".
_TARGET: dict[EscalationCode, RiskLevel | None] = {
    EscalationCode.HIGH_CRAVING: "high",
    EscalationCode.TOP_OF_SCALE_CRAVING: "high",
    EscalationCode.USE_REPORTED: "high",
    EscalationCode.USING_NOW: "critical",
    EscalationCode.HELP_REQUESTED: "critical",
    EscalationCode.WARNING_SIGNS: None,
    EscalationCode.CONSECUTIVE_MISSES: None,
    EscalationCode.RISING_CRAVING: None,
}

#: Reasons that must reach a person at once, whatever the time of day or the miss count.
IMMEDIATE = frozenset({EscalationCode.TOP_OF_SCALE_CRAVING, EscalationCode.USING_NOW, EscalationCode.HELP_REQUESTED})


def escalated_level(current: RiskLevel, reasons: Sequence[EscalationReason]) -> RiskLevel:
    """The level after escalation: never lower than ``current``."""
    targets = [_TARGET[r.code] or risk_levels.one_step_up(current) for r in reasons]
    return risk_levels.highest(current, *targets)


def is_immediate(reasons: Sequence[EscalationReason]) -> bool:
    return any(r.code in IMMEDIATE for r in reasons)
