"""The ordered risk levels monitoring works with, and the one-step-up rule."""

from __future__ import annotations

from typing import get_args

from shared.catalogue.monitoring import RiskLevel

ORDER: tuple[RiskLevel, ...] = get_args(RiskLevel)
#: Until intake has assessed someone, monitoring treats them as moderate risk: frequent enough
#: to notice trouble early in recovery, without the daily burden reserved for high risk.
UNASSESSED: RiskLevel = "moderate"


def rank(level: RiskLevel) -> int:
    return ORDER.index(level)


def highest(*levels: RiskLevel) -> RiskLevel:
    return max(levels, key=rank)


def one_step_up(level: RiskLevel, *, ceiling: RiskLevel = "high") -> RiskLevel:
    """The next level up, never past ``ceiling`` unless already above it.

    Critical is reserved for an immediate safety concern, so routine rules stop at high.
    """
    if rank(level) >= rank(ceiling):
        return level
    return ORDER[rank(level) + 1]


def as_risk_level(value: str) -> RiskLevel:
    """Validate a risk level received from another service."""
    if value not in ORDER:
        raise ValueError(f"unknown risk level {value!r}")
    return value
