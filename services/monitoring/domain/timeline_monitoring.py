"""Timeline lines for monitoring's own events (registered with ``timeline.describe``)."""

from __future__ import annotations

from services.monitoring.domain.durations import parse_duration
from services.monitoring.domain.timeline import Payload, _line, _listed, _plain, _when
from shared.domain import InvalidCommand


def _duration(value: object) -> str:
    try:
        seconds = int(parse_duration(str(value)).total_seconds())
    except InvalidCommand:
        return str(value)
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit}" + ("s" if n != 1 else "")
    return f"{seconds} seconds" if seconds != 1 else "1 second"


@_line("MonitoringStarted")
def _(p: Payload) -> str:
    return "Check-in monitoring started"


@_line("MonitoringEnded")
def _(p: Payload) -> str:
    return f"Monitoring ended ({_plain(p['reason'])})"


@_line("RiskLevelNoted")
def _(p: Payload) -> str:
    return f"Monitoring now follows risk level {p['risk_level']}"


@_line("TimeZoneNoted")
def _(p: Payload) -> str:
    return f"Days now counted in time zone {p.get('time_zone') or 'UTC'}"


@_line("CheckInScheduleSet")
def _(p: Payload) -> str:
    basis = "default for risk level" if p["basis"] == "risk_default" else "set by specialist"
    every, grace, due = _duration(p["interval"]), _duration(p["grace"]), _when(p["next_due_at"])
    return f"Check-ins every {every} ({basis}), grace {grace}; next due {due}"


@_line("CheckInCompleted")
def _(p: Payload) -> str:
    if p.get("using_now"):
        use = "using now"
    elif p.get("used_since_last_check_in"):
        use = f"use reported ({_listed(p.get('substances_used'))})"
    else:
        use = "no use reported"
    parts = [f"Check-in: craving {p['craving']}/10, mood {p['mood']}/5, {use}"]
    signs = len(p.get("plan_warning_sign_ids") or ()) + int(p.get("new_warning_sign_count") or 0)
    if signs:
        parts.append(f"{signs} warning sign{'s' if signs != 1 else ''}")
    if p.get("support_meeting_attended"):
        parts.append("attended a support meeting")
    return "; ".join(parts)


@_line("CheckInMissed")
def _(p: Payload) -> str:
    n = p["consecutive_misses"]
    streak = "" if n == 1 else f" ({n} in a row)"
    return f"Missed check-in due {_when(p['due_at'])}{streak}"


@_line("RiskEscalated")
def _(p: Payload) -> str:
    reasons = "; ".join(r["detail"] for r in p["reasons"])
    now = " - immediate" if p.get("immediate") else ""
    return f"Risk escalated {p['from_level']} -> {p['to_level']}{now}: {reasons}"


@_line("HelpRequested")
def _(p: Payload) -> str:
    return f"Asked for help (SOS via {p.get('channel', 'app')})"


@_line("MilestoneReached")
def _(p: Payload) -> str:
    return f"Milestone: {_plain(p['milestone'])} in recovery"


@_line("RelapseReported")
def _(p: Payload) -> str:
    return f"Relapse recorded for {p['relapsed_on']}; the day count starts again"


@_line("ContactLogged")
def _(p: Payload) -> str:
    direction = "Outreach" if p.get("direction", "outbound") == "outbound" else "Contact from participant"
    return f"{direction} by {_plain(p['channel'])}: {_plain(p['outcome'])}"
