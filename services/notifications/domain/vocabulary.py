"""Closed vocabularies shared by the notification rules, alerts and deliveries."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a notification is for. Staff roles match the JWT ``roles`` claim."""

    PARTICIPANT = "participant"
    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    AGENCY_ADMIN = "agency_admin"
    SUPPORT_CONTACT = "support_contact"
    PARTNER_AGENCY = "partner_agency"
    INTEGRATION = "integration"


STAFF_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.AGENCY_ADMIN})


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    IN_APP = "in_app"


class Urgency(StrEnum):
    """Routine messages respect quiet hours; urgent ones never wait and escalate unanswered."""

    ROUTINE = "routine"
    URGENT = "urgent"


class Rule(StrEnum):
    """Rule names: part of the dedup key and of every delivery event, so keep them stable."""

    MISSED_CHECK_IN_REMINDER = "missed-check-in.reminder"
    MISSED_CHECK_IN_OUTREACH = "missed-check-in.outreach"
    MISSED_CHECK_IN_SUPERVISOR = "missed-check-in.supervisor"
    MISSED_CHECK_IN_SUPPORT_CONTACT = "missed-check-in.support-contact"
    SAFETY_CONCERN = "safety-concern"
    HELP_REQUESTED = "help-requested"
    CRITICAL_RISK = "critical-risk"
    RELAPSE_REPORTED = "relapse-reported"
    MILESTONE_CONGRATULATIONS = "milestone.congratulations"
    PLAN_REVIEW_TASK = "plan-review.task"
    PLAN_CREATED = "plan-created-tell-specialist"
    REFERRAL_WEBHOOK = "referral.webhook"
    SUBSCRIPTION = "subscription"
    ALERT_ESCALATED = "alert.escalated"
