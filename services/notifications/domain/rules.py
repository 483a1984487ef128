"""Alert rules: (event, recipients, now) -> notification intents. Pure, table-tested.

Every intent names its cause (the event id), the rule that fired and the recipient, which
together form the dedup key: however often an event is redelivered, a recipient hears about it
once per rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.notifications.domain.directory import Recipients
from services.notifications.domain.escalation import next_level
from services.notifications.domain.intents import (
    DEFAULT_CHANNELS,
    DedupKey,
    IncomingEvent,
    NotificationIntent,
    deduplicate,
)
from services.notifications.domain.vocabulary import STAFF_ROLES, Channel, Role, Rule, Urgency

__all__ = [
    "DEFAULT_CHANNELS",
    "IMMEDIATE_RULES",
    "DedupKey",
    "IncomingEvent",
    "NotificationIntent",
    "deduplicate",
    "intents_for",
]

IMMEDIATE_RULES: Mapping[str, Rule] = {
    "SafetyConcernRaised": Rule.SAFETY_CONCERN,
    "HelpRequested": Rule.HELP_REQUESTED,
    "RelapseReported": Rule.RELAPSE_REPORTED,
}


def _to_role(
    event: IncomingEvent, recipients: Recipients, rule: Rule, role: Role, urgency: Urgency
) -> NotificationIntent | None:
    """Address ``role``; when nobody holds a staff role, the next level up hears instead."""
    current: Role | None = role
    while current is not None:
        holder = recipients.holder(current)
        if holder:
            return NotificationIntent(
                rule=rule,
                recipient_role=current,
                recipient_id=holder,
                channels=DEFAULT_CHANNELS[current],
                urgency=urgency,
                cause_event_id=event.event_id,
                participant_id=event.participant_id,
            )
        current = next_level(current) if current in STAFF_ROLES else None
    return None


def _missed_check_in(event: IncomingEvent, r: Recipients) -> list[NotificationIntent | None]:
    if r.discharged:
        return []
    misses = r.consecutive_misses
    if misses <= 1:
        return [_to_role(event, r, Rule.MISSED_CHECK_IN_REMINDER, Role.PARTICIPANT, Urgency.ROUTINE)]
    if misses == 2:
        return [_to_role(event, r, Rule.MISSED_CHECK_IN_OUTREACH, Role.SPECIALIST, Urgency.ROUTINE)]
    intents = [_to_role(event, r, Rule.MISSED_CHECK_IN_SUPERVISOR, Role.SUPERVISOR, Urgency.URGENT)]
    if misses == 3:
        intents += [
            NotificationIntent(
                rule=Rule.MISSED_CHECK_IN_SUPPORT_CONTACT,
                recipient_role=Role.SUPPORT_CONTACT,
                recipient_id=contact.support_contact_id,
                channels=DEFAULT_CHANNELS[Role.SUPPORT_CONTACT],
                urgency=Urgency.ROUTINE,
                cause_event_id=event.event_id,
                participant_id=event.participant_id,
            )
            for contact in r.support_contacts
            if contact.consent_to_contact
        ]
    return intents


def _risk_level(payload: Mapping[str, Any]) -> str | None:
    for key in ("to_level", "risk_level"):
        if payload.get(key) is not None:
            return str(payload[key]).lower()
    return None


def _alerts_on_its_own(payload: Mapping[str, Any]) -> bool:
    """Critical or immediate, unless it merely restates a help request (that already alerted)."""
    if payload.get("cause") == "help_request":
        return False
    return _risk_level(payload) == "critical" or bool(payload.get("immediate"))


def _immediate(event: IncomingEvent, r: Recipients, rule: Rule) -> list[NotificationIntent | None]:
    return [
        _to_role(event, r, rule, Role.SPECIALIST, Urgency.URGENT),
        _to_role(event, r, rule, Role.SUPERVISOR, Urgency.URGENT),
    ]


def _referral(event: IncomingEvent) -> list[NotificationIntent | None]:
    agency = event.payload.get("recipient_agency_id")
    if agency is None:
        return []
    return [
        NotificationIntent(
            rule=Rule.REFERRAL_WEBHOOK,
            recipient_role=Role.PARTNER_AGENCY,
            recipient_id=str(agency),
            channels=DEFAULT_CHANNELS[Role.PARTNER_AGENCY],
            urgency=Urgency.ROUTINE,
            cause_event_id=event.event_id,
            participant_id=event.participant_id,
        )
    ]


def _in_app_only(intent: NotificationIntent | None) -> NotificationIntent | None:
    """A heads-up that needs no email: the inbox is enough."""
    return None if intent is None else replace(intent, channels=(Channel.IN_APP,))


def intents_for(event: IncomingEvent, recipients: Recipients, now: datetime) -> list[NotificationIntent]:
    """Everything ``event`` must cause, one intent per (rule, recipient), in ladder order.

    ``recipients`` is the directory state *after* the event was folded in (so a ``CheckInMissed``
    already counts itself). ``now`` is accepted so time-dependent rules stay pure.
    """
    kind = event.event_type
    found: list[NotificationIntent | None]
    if kind == "CheckInMissed":
        found = _missed_check_in(event, recipients)
    elif kind in IMMEDIATE_RULES:
        found = _immediate(event, recipients, IMMEDIATE_RULES[kind])
    elif kind == "RiskEscalated" and _alerts_on_its_own(event.payload):
        found = _immediate(event, recipients, Rule.CRITICAL_RISK)
    elif kind == "MilestoneReached" and not recipients.discharged:
        found = [_to_role(event, recipients, Rule.MILESTONE_CONGRATULATIONS, Role.PARTICIPANT, Urgency.ROUTINE)]
    elif kind == "PlanReviewRequested":
        found = [_to_role(event, recipients, Rule.PLAN_REVIEW_TASK, Role.SPECIALIST, Urgency.ROUTINE)]
    elif kind == "PlanCreated":
        found = [_in_app_only(_to_role(event, recipients, Rule.PLAN_CREATED, Role.SPECIALIST, Urgency.ROUTINE))]
    elif kind == "ReferralRequested":
        found = _referral(event)
    else:
        found = []
    return list(deduplicate(i for i in found if i is not None))
