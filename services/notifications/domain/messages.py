"""Minimum-necessary message bodies: what an email or webhook to each recipient may say.

Email and webhooks leave the agency's protected systems, so by default they say only *that*
something needs attention and link back to Waypoint, where the reader signs in and sees what
their role allows. No substance, diagnosis, score or note text is ever rendered unless the
recipient is entitled to details, and even then only coded fields from an allowlist: free text
never leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.vocabulary import Role, Rule

# Coded, non-narrative fields an entitled recipient may see. Never free text, never substances.
DETAIL_ALLOWLIST = frozenset(
    {"risk_level", "consecutive_misses", "days", "milestone_days", "referral_id", "consent_id", "plan_id"}
)

# What a referral webhook always carries: the receiving agency is the consented recipient.
REFERRAL_FIELDS = ("referral_id", "consent_id", "purpose", "redisclosure_notice")

_STAFF_SUBJECTS: Mapping[Rule, str] = {
    Rule.MISSED_CHECK_IN_OUTREACH: "Outreach needed: a participant missed two check-ins",
    Rule.MISSED_CHECK_IN_SUPERVISOR: "Urgent: a participant missed three check-ins in a row",
    Rule.SAFETY_CONCERN: "Urgent: a safety concern was raised",
    Rule.HELP_REQUESTED: "Urgent: a participant asked for help",
    Rule.CRITICAL_RISK: "Urgent: a participant's risk is critical",
    Rule.RELAPSE_REPORTED: "Urgent: a participant needs follow-up",
    Rule.PLAN_REVIEW_TASK: "Task: a plan review was requested",
    Rule.ALERT_ESCALATED: "Urgent: an alert was not acknowledged in time",
}

_PARTICIPANT_SUBJECTS: Mapping[Rule, str] = {
    Rule.MISSED_CHECK_IN_REMINDER: "A friendly reminder: your check-in is waiting",
    Rule.MILESTONE_CONGRATULATIONS: "Congratulations - you reached a milestone",
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    link: str


def link_for(intent: NotificationIntent, base_url: str, alert_id: UUID | None = None) -> str:
    base = base_url.rstrip("/")
    if intent.recipient_role is Role.PARTICIPANT:
        return f"{base}/me"
    if intent.recipient_role is Role.SUPPORT_CONTACT:
        return f"{base}/support"
    if alert_id is not None:
        return f"{base}/alerts/{alert_id}"
    return f"{base}/participants/{intent.participant_id}"


def allowed_details(payload: Mapping[str, Any], entitled: bool) -> dict[str, Any]:
    """The payload fields a recipient may see: nothing unless entitled, then only the allowlist."""
    if not entitled:
        return {}
    return {k: v for k, v in payload.items() if k in DETAIL_ALLOWLIST and isinstance(v, int | str)}


def render_email(
    intent: NotificationIntent,
    base_url: str,
    *,
    payload: Mapping[str, Any] | None = None,
    entitled: bool = False,
    alert_id: UUID | None = None,
) -> Message:
    link = link_for(intent, base_url, alert_id)
    role = intent.recipient_role
    if role is Role.PARTICIPANT:
        subject = _PARTICIPANT_SUBJECTS.get(intent.rule, "You have a new message in Waypoint")
        text = f"{subject}.\n\nOpen Waypoint to see it: {link}\n"
        return Message(subject, text, link)
    if role is Role.SUPPORT_CONTACT:
        # Says nothing about treatment: being someone's support contact must not disclose it.
        subject = "Someone who counts on you would welcome a call"
        text = f"A person who named you as a support contact would appreciate hearing from you.\n\n{link}\n"
        return Message(subject, text, link)
    subject = _STAFF_SUBJECTS.get(intent.rule, "You have a new notification in Waypoint")
    lines = [f"{subject}.", "", f"Sign in to see the details: {link}"]
    details = allowed_details(payload or {}, entitled)
    if details:
        lines += ["", *(f"{k}: {v}" for k, v in sorted(details.items()))]
    return Message(subject, "\n".join(lines) + "\n", link)


def webhook_body(
    intent: NotificationIntent,
    *,
    event_type: str,
    occurred_at: datetime,
    base_url: str,
    delivery_id: UUID,
    payload: Mapping[str, Any] | None = None,
    entitled: bool = False,
) -> dict[str, Any]:
    """JSON for a partner system: references and a link, details only when entitled."""
    body: dict[str, Any] = {
        "delivery_id": str(delivery_id),
        "rule": intent.rule.value,
        "event": {
            "id": str(intent.cause_event_id),
            "type": event_type,
            "occurred_at": occurred_at.isoformat(),
            "participant_id": str(intent.participant_id),
        },
        "link": link_for(intent, base_url),
    }
    if intent.rule is Rule.REFERRAL_WEBHOOK:
        # A consented disclosure always travels with its consent reference and the Part 2 notice.
        body["referral"] = {k: str((payload or {}).get(k, "")) for k in REFERRAL_FIELDS}
    details = allowed_details(payload or {}, entitled)
    if details:
        body["data"] = details
    return body
