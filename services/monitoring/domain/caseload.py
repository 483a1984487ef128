"""How much a participant needs their specialist's attention now: a score with its reasons.

Risk sets the base; consecutive misses, open alerts and time since the last check-in add to it,
so a low-risk person who stopped answering can outrank a moderate-risk person who is engaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.catalogue.monitoring import RiskLevel

RISK_POINTS: dict[str, int] = {"critical": 100, "high": 60, "moderate": 30, "low": 0}
POINTS_PER_MISS = 20
POINTS_PER_OPEN_ALERT = 15
CAPPED_COUNT = 5
MAX_SILENCE_POINTS = 30  # one point per day without a check-in, at most a month


@dataclass(frozen=True)
class Need:
    score: int
    reasons: tuple[str, ...]


def need(
    risk_level: RiskLevel | str,
    consecutive_misses: int,
    last_check_in_at: datetime | None,
    open_alerts: int,
    now: datetime,
    monitored_since: datetime | None = None,
) -> Need:
    reasons: list[str] = [f"risk level {risk_level}"]
    score = RISK_POINTS.get(risk_level, RISK_POINTS["moderate"])
    if consecutive_misses:
        score += POINTS_PER_MISS * min(consecutive_misses, CAPPED_COUNT)
        reasons.append(f"{consecutive_misses} missed check-in{'s' if consecutive_misses != 1 else ''} in a row")
    if open_alerts:
        score += POINTS_PER_OPEN_ALERT * min(open_alerts, CAPPED_COUNT)
        reasons.append(f"{open_alerts} open alert{'s' if open_alerts != 1 else ''}")
    since = last_check_in_at or monitored_since
    if since is not None:
        days = max(0, (now - since).days)
        score += min(days, MAX_SILENCE_POINTS)
        if days:
            what = "last check-in" if last_check_in_at else "no check-in yet; monitored"
            reasons.append(f"{what} {days} day{'s' if days != 1 else ''} ago")
    elif last_check_in_at is None:
        reasons.append("no check-in yet")
    return Need(score, tuple(reasons))


def ranking_key(need_: Need, last_check_in_at: datetime | None) -> tuple[int, float]:
    """Sort ascending by this key: highest need first, then the longest silence first."""
    silence = last_check_in_at.timestamp() if last_check_in_at else float("-inf")
    return (-need_.score, silence)
