"""One human-readable line for any Waypoint event, from its type name and payload.

Lines are built from the payload only (which never holds names or free text), so the timeline
cannot leak what the events do not carry. Unknown or malformed payloads get a generic line
rather than an error: the timeline must keep rendering while services evolve.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

Payload = Mapping[str, Any]
_lines: dict[str, Callable[[Payload], str]] = {}


def _line(*names: str) -> Callable[[Callable[[Payload], str]], Callable[[Payload], str]]:
    def register(fn: Callable[[Payload], str]) -> Callable[[Payload], str]:
        for name in names:
            _lines[name] = fn
        return fn

    return register


def words(name: str) -> str:
    """``CheckInMissed`` -> ``check in missed``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()


def _plain(value: Any) -> str:
    return str(value).replace("_", " ").replace("-", " ")


def _when(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)


def _listed(values: Any) -> str:
    return ", ".join(_plain(v) for v in values or ()) or "none"


def describe(event_type: str, payload: Payload) -> str:
    """The timeline line for an event name (``CheckInMissed``) or CloudEvents type."""
    name = event_type.split(".")[2] if event_type.startswith("waypoint.") and event_type.count(".") == 3 else event_type
    fn = _lines.get(name)
    if fn is not None:
        try:
            return fn(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return words(name).capitalize()


# --- intake --------------------------------------------------------------------------------


@_line("ParticipantEnrolled")
def _(p: Payload) -> str:
    start = p.get("recovery_start_date")
    return "Enrolled in the programme" + (f"; recovery counted from {start}" if start else "")


@_line("SpecialistAssigned")
def _(p: Payload) -> str:
    return "Specialist reassigned" if p.get("previous_specialist_id") else "Specialist assigned"


@_line("ParticipantDischarged")
def _(p: Payload) -> str:
    return f"Discharged ({_plain(p['reason'])})"


@_line("AssessmentCompleted")
def _(p: Payload) -> str:
    return f"Assessment completed ({_listed(p.get('instruments'))}); risk level {p['risk_level']}"


@_line("RiskLevelChanged")
def _(p: Payload) -> str:
    previous = p.get("previous_level")
    change = f"from {previous} to {p['risk_level']}" if previous else f"set to {p['risk_level']}"
    return f"Risk level {change}"


@_line("ParticipantTimeZoneChanged")
def _(p: Payload) -> str:
    previous = p.get("previous_time_zone") or "UTC"
    return f"Time zone changed from {previous} to {p.get('time_zone') or 'UTC'}"


@_line("SafetyConcernRaised")
def _(p: Payload) -> str:
    return f"Safety concern raised: {_listed(p.get('concerns'))}"


@_line("CoOccurringConditionFlagged")
def _(p: Payload) -> str:
    return f"Possible co-occurring condition: {p['instrument']} score {p['score']} ({_plain(p['severity'])})"


@_line("ConsentGranted", "ConsentRevoked", "ConsentExpired", "ConsentDrafted")
def _(p: Payload) -> str:
    return "Consent " + ("recorded" if "granted_at" in p else "updated")


@_line("ReferralRequested")
def _(p: Payload) -> str:
    return f"Referral requested ({_plain(p['purpose'])}) under consent"


# --- planning ------------------------------------------------------------------------------


@_line("PlanCreated")
def _(p: Payload) -> str:
    return f"Relapse-prevention plan created (version {p['version']})"


@_line("PlanUpdated")
def _(p: Payload) -> str:
    return f"Plan updated to version {p['version']}: {_listed(p.get('sections_changed'))}"


@_line("PlanStatusChanged")
def _(p: Payload) -> str:
    return f"Plan {_plain(p['from_status'])} -> {_plain(p['to_status'])}"


@_line("PlanReviewRequested")
def _(p: Payload) -> str:
    return f"Plan review requested ({_plain(p['reason'])}, {p['urgency']}), due {p['due_on']}"


@_line("EducationModuleAssigned", "EducationModuleCompleted")
def _(p: Payload) -> str:
    done = "completed_at" in p
    return f"Education module {_plain(p['module'])} {'completed' if done else 'assigned'}"


# --- notifications -------------------------------------------------------------------------


@_line("NotificationSent")
def _(p: Payload) -> str:
    return f"{_plain(p['recipient_role']).capitalize()} notified by {p['channel']} ({_plain(p['rule'])})"


@_line("NotificationFailed")
def _(p: Payload) -> str:
    return f"Notification to {_plain(p['recipient_role'])} failed after {p['attempts']} attempts"


@_line("AlertRaised")
def _(p: Payload) -> str:
    return f"Alert raised for {_plain(p['recipient_role'])} ({_plain(p['rule'])}, {p['urgency']})"


@_line("AlertAcknowledged")
def _(p: Payload) -> str:
    return "Alert acknowledged"


@_line("AlertEscalated")
def _(p: Payload) -> str:
    return f"Unacknowledged alert escalated to {_plain(p['to_role'])}"


# Monitoring's own lines live in their own module; importing it registers them.
from services.monitoring.domain import timeline_monitoring as _monitoring_lines  # noqa: E402, F401
