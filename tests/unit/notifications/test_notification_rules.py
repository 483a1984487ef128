"""Rule tables: one event in (with the directory state it meets), notifications out."""

from __future__ import annotations

import uuid

import pytest
from notifications_helpers import (
    CONTACTS,
    FULL,
    NO_SPECIALIST,
    NOBODY,
    NOW,
    PARTICIPANT,
    incoming,
    summary,
    with_misses,
)

from services.notifications.domain.directory import Recipients
from services.notifications.domain.rules import intents_for
from services.notifications.domain.vocabulary import Channel, Role, Rule

pytestmark = pytest.mark.unit

P = str(PARTICIPANT)


@pytest.mark.parametrize(
    ("event_type", "payload", "recipients", "expected"),
    [
        # the missed-check-in ladder
        ("CheckInMissed", {}, with_misses(1), [("missed-check-in.reminder", "participant", P, "routine")]),
        ("CheckInMissed", {}, with_misses(2), [("missed-check-in.outreach", "specialist", "spec-1", "routine")]),
        (
            "CheckInMissed",
            {},
            with_misses(3, support_contacts=CONTACTS),
            [
                ("missed-check-in.supervisor", "supervisor", "sup-1", "urgent"),
                ("missed-check-in.support-contact", "support_contact", "sc-yes", "routine"),
            ],
        ),
        (
            "CheckInMissed",
            {},
            with_misses(4, support_contacts=CONTACTS),
            [("missed-check-in.supervisor", "supervisor", "sup-1", "urgent")],
        ),
        (
            "CheckInMissed",
            {},
            with_misses(2, NO_SPECIALIST),
            [("missed-check-in.outreach", "supervisor", "sup-1", "routine")],
        ),
        ("CheckInMissed", {}, with_misses(1, discharged=True), []),
        # immediate alerts
        (
            "SafetyConcernRaised",
            {"concerns": ["self_harm_thoughts"]},
            FULL,
            [("safety-concern", "specialist", "spec-1", "urgent"), ("safety-concern", "supervisor", "sup-1", "urgent")],
        ),
        (
            "HelpRequested",
            {},
            FULL,
            [("help-requested", "specialist", "spec-1", "urgent"), ("help-requested", "supervisor", "sup-1", "urgent")],
        ),
        (
            "RelapseReported",
            {},
            FULL,
            [
                ("relapse-reported", "specialist", "spec-1", "urgent"),
                ("relapse-reported", "supervisor", "sup-1", "urgent"),
            ],
        ),
        (
            "RiskEscalated",
            {"from_level": "high", "to_level": "critical"},
            FULL,
            [("critical-risk", "specialist", "spec-1", "urgent"), ("critical-risk", "supervisor", "sup-1", "urgent")],
        ),
        ("RiskEscalated", {"from_level": "moderate", "to_level": "high"}, FULL, []),
        # the SOS itself already alerted: its risk escalation does not page the same people twice
        ("RiskEscalated", {"to_level": "critical", "immediate": True, "cause": "help_request"}, FULL, []),
        (
            "RiskEscalated",  # e.g. craving at the top of the scale: immediate, whatever the level
            {"from_level": "moderate", "to_level": "high", "immediate": True},
            FULL,
            [("critical-risk", "specialist", "spec-1", "urgent"), ("critical-risk", "supervisor", "sup-1", "urgent")],
        ),
        # nobody holds the specialist role: the supervisor hears once, not twice
        ("HelpRequested", {}, NO_SPECIALIST, [("help-requested", "supervisor", "sup-1", "urgent")]),
        (
            "SafetyConcernRaised",
            {},
            Recipients(PARTICIPANT, agency_admin_id="admin-1"),
            [("safety-concern", "agency_admin", "admin-1", "urgent")],
        ),
        ("SafetyConcernRaised", {}, NOBODY, []),
        (
            "SafetyConcernRaised",
            {},
            with_misses(0, discharged=True),
            [("safety-concern", "specialist", "spec-1", "urgent"), ("safety-concern", "supervisor", "sup-1", "urgent")],
        ),
        # the rest
        ("MilestoneReached", {"days": 30}, FULL, [("milestone.congratulations", "participant", P, "routine")]),
        ("MilestoneReached", {"days": 30}, with_misses(0, discharged=True), []),
        ("PlanReviewRequested", {}, FULL, [("plan-review.task", "specialist", "spec-1", "routine")]),
        (
            "ReferralRequested",
            {"recipient_agency_id": "partner-9"},
            FULL,
            [("referral.webhook", "partner_agency", "partner-9", "routine")],
        ),
        ("PlanCreated", {}, FULL, [("plan-created-tell-specialist", "specialist", "spec-1", "routine")]),
        ("PlanCreated", {}, NOBODY, []),
        ("CheckInCompleted", {}, FULL, []),
        ("ParticipantEnrolled", {}, FULL, []),
        ("SomethingNobodyKnows", {}, FULL, []),
    ],
)
def test_rule_table(event_type, payload, recipients, expected):
    assert summary(intents_for(incoming(event_type, **payload), recipients, NOW)) == expected


@pytest.mark.parametrize(
    ("role", "channels"),
    [
        (Role.PARTICIPANT, (Channel.EMAIL,)),
        (Role.SPECIALIST, (Channel.IN_APP, Channel.EMAIL)),
        (Role.PARTNER_AGENCY, (Channel.WEBHOOK,)),
        (Role.SUPERVISOR, (Channel.IN_APP,)),
    ],
)
def test_each_role_gets_its_default_channels(role, channels):
    event_type, payload, recipients = {
        Role.PARTICIPANT: ("MilestoneReached", {}, FULL),
        Role.SPECIALIST: ("PlanReviewRequested", {}, FULL),
        Role.PARTNER_AGENCY: ("ReferralRequested", {"recipient_agency_id": "p"}, FULL),
        Role.SUPERVISOR: ("PlanCreated", {}, NO_SPECIALIST),  # a draft plan is an inbox heads-up only
    }[role]
    [intent] = intents_for(incoming(event_type, **payload), recipients, NOW)
    assert intent.channels == channels


def test_every_intent_names_its_cause_and_carries_a_dedup_key_of_cause_rule_and_recipient():
    cause = uuid.uuid4()
    intents = intents_for(incoming("HelpRequested", event_id=cause), FULL, NOW)
    assert {i.cause_event_id for i in intents} == {cause}
    assert [i.dedup_key for i in intents] == [
        (cause, Rule.HELP_REQUESTED.value, "spec-1"),
        (cause, Rule.HELP_REQUESTED.value, "sup-1"),
    ]


def test_staff_intents_are_alerts_and_participant_intents_are_not():
    staff = intents_for(incoming("HelpRequested"), FULL, NOW)
    participant = intents_for(incoming("MilestoneReached"), FULL, NOW)
    assert all(i.is_alert for i in staff)
    assert not any(i.is_alert for i in participant)
