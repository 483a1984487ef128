"""Words for numbers: risk levels with their icon and label, dates, scores with their bands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

RISK = {
    "critical": ("Critical risk", "error", 0),
    "high": ("High risk", "warning", 1),
    "moderate": ("Moderate risk", "info", 2),
    "low": ("Low risk", "check_circle", 3),
}


def risk_label(level: str | None) -> str:
    return RISK.get(level or "", ("Not assessed", "", 9))[0]


def risk_icon(level: str | None) -> str:
    return RISK.get(level or "", ("", "help", 9))[1] or "help"


def when(value: Any) -> str:
    """An ISO instant as "27 Nov 2026 06:15 UTC" (empty when missing)."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%-d %b %Y %H:%M UTC")


def ago(value: Any) -> str:
    """How long ago: "3 h ago", "2 days ago", "never"."""
    if not value:
        return "never"
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    seconds = (datetime.now(UTC) - at).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def words(value: Any) -> str:
    return str(value or "").replace("_", " ")


FILTERS = {"risk_label": risk_label, "risk_icon": risk_icon, "when": when, "ago": ago, "words": words}
GLOBALS = {"RISK": RISK}
