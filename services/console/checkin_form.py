"""A check-in form (the participant's own, or a specialist's on their behalf) as the API's body."""

from __future__ import annotations

from typing import Any

from services.console.web import listed


def check_in_body(form: dict[str, Any]) -> dict[str, Any]:
    used = form.get("used") == "yes"
    body: dict[str, Any] = {
        "craving": _int(form.get("craving")),
        "mood": _int(form.get("mood")),
        "used_since_last_check_in": used,
        "warning_signs": [{"plan_sign_id": s} for s in listed(form.get("warning_signs"))],
        "coping_strategies": [{"plan_strategy_id": s, "helped": True} for s in listed(form.get("coping"))],
        "support_meeting_attended": form.get("meeting") == "yes",
    }
    if form.get("private_note"):
        body["private_note"] = form["private_note"]
    return body


def _int(value: Any) -> Any:
    text = str(value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else text or None


def plan_choices(plan: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The plan's warning signs and coping strategies (those with an id) to tick at a check-in."""
    if not plan:
        return [], []
    sections = plan.get("sections", {})
    signs = [s for s in sections.get("warning_signs", []) if s.get("id")]
    strategies = [c for h in sections.get("high_risk_situations", []) for c in h.get("strategies", []) if c.get("id")]
    return signs, strategies
