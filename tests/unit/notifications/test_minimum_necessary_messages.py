"""Minimum necessary: what leaves by email or webhook says that, not what."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notifications_helpers import FULL, NOW, incoming, with_misses

from services.notifications.domain.directory import SupportContact
from services.notifications.domain.messages import render_email, webhook_body
from services.notifications.domain.rules import intents_for
from services.notifications.domain.vocabulary import Rule

pytestmark = pytest.mark.unit

BASE = "https://waypoint.example"
SENSITIVE = {
    "substances": ["fentanyl"],
    "primary_substances": ["methamphetamine"],
    "diagnosis": "major depressive disorder",
    "note": "told me about the argument with her brother",
    "phq9_item9": 2,
    "concerns": ["self_harm_thoughts"],
    "reasons": ["BAM risk subscale 14 >= 12"],
}
LEAK_MARKERS = ("fentanyl", "methamphetamine", "depressive", "brother", "self_harm", "BAM")

EVERY_RULE_EVENT = [
    ("CheckInMissed", with_misses(1)),
    ("CheckInMissed", with_misses(2)),
    ("CheckInMissed", with_misses(3, support_contacts=(SupportContact("sc-1", True),))),
    ("SafetyConcernRaised", FULL),
    ("HelpRequested", FULL),
    ("RelapseReported", FULL),
    ("MilestoneReached", FULL),
    ("PlanReviewRequested", FULL),
]


def all_intents(payload):
    out = []
    for event_type, recipients in EVERY_RULE_EVENT:
        out += intents_for(incoming(event_type, **payload), recipients, NOW)
    return out


@pytest.mark.parametrize("entitled", [False, True])
def test_no_email_ever_carries_substance_diagnosis_or_note_text(entitled):
    intents = all_intents(SENSITIVE)
    assert {i.rule for i in intents} >= {Rule.SAFETY_CONCERN, Rule.MISSED_CHECK_IN_SUPPORT_CONTACT}
    for intent in intents:
        message = render_email(intent, BASE, payload=SENSITIVE, entitled=entitled)
        rendered = (message.subject + message.text).lower()
        assert not [m for m in LEAK_MARKERS if m.lower() in rendered], intent.rule


def test_staff_emails_link_back_to_the_participant_or_the_alert():
    specialist = intents_for(incoming("HelpRequested"), FULL, NOW)[0]
    alert_id = uuid.uuid4()
    assert render_email(specialist, BASE).link == f"{BASE}/participants/{specialist.participant_id}"
    message = render_email(specialist, BASE, alert_id=alert_id)
    assert message.link == f"{BASE}/alerts/{alert_id}" and message.link in message.text


def test_a_support_contact_email_does_not_reveal_treatment():
    [_, contact] = intents_for(
        incoming("CheckInMissed"), with_misses(3, support_contacts=(SupportContact("s", True),)), NOW
    )
    text = render_email(contact, BASE).text.lower()
    for word in ("recovery", "check-in", "relapse", "treatment", "substance", str(contact.participant_id)):
        assert word not in text


@pytest.mark.parametrize(("entitled", "has_data"), [(False, False), (True, True)])
def test_entitled_staff_see_coded_details_only(entitled, has_data):
    specialist = intents_for(incoming("CheckInMissed"), with_misses(2), NOW)[0]
    text = render_email(specialist, BASE, payload={"consecutive_misses": 2, **SENSITIVE}, entitled=entitled).text
    assert ("consecutive_misses: 2" in text) is has_data


def test_a_referral_webhook_carries_the_consent_reference_and_redisclosure_notice_not_the_record():
    payload = {
        "recipient_agency_id": "partner-9",
        "referral_id": str(uuid.uuid4()),
        "consent_id": str(uuid.uuid4()),
        "purpose": "mental_health_referral",
        "redisclosure_notice": "42 CFR part 2 prohibits unauthorized redisclosure",
        **SENSITIVE,
    }
    [intent] = intents_for(incoming("ReferralRequested", **payload), FULL, NOW)
    body = webhook_body(
        intent,
        event_type="ReferralRequested",
        occurred_at=NOW,
        base_url=BASE,
        delivery_id=uuid.uuid4(),
        payload=payload,
    )
    assert body["referral"]["consent_id"] == payload["consent_id"]
    assert "redisclosure" in body["referral"]["redisclosure_notice"]
    assert "data" not in body
    assert not [m for m in LEAK_MARKERS if m.lower() in json.dumps(body).lower()]


texts = st.text(min_size=4, alphabet=st.characters(codec="ascii", categories=("L",)))


@settings(deadline=None)  # a busy CI machine must not turn slowness into failure
@given(secret_text=texts, entitled=st.booleans())
def test_no_free_text_value_reaches_any_email_or_webhook(secret_text, entitled):
    marker = f"zz{secret_text}zz"
    payload = {"note": marker, "description": marker, "substances": [marker], "risk_level": "critical"}
    for intent in all_intents(payload):
        message = render_email(intent, BASE, payload=payload, entitled=entitled)
        body = webhook_body(
            intent,
            event_type="X",
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            base_url=BASE,
            delivery_id=uuid.uuid4(),
            payload=payload,
            entitled=entitled,
        )
        assert marker not in message.subject + message.text + json.dumps(body)


def test_the_delivery_queue_keeps_only_coded_fields_of_the_cause():
    from services.notifications.application.deliver import stored_details

    [specialist, _] = intents_for(incoming("RelapseReported"), FULL, NOW)
    assert stored_details(specialist, {**SENSITIVE, "risk_level": "high", "days": 3}) == {
        "risk_level": "high",
        "days": 3,
    }
    payload = {"recipient_agency_id": "p", "referral_id": "r-1", "consent_id": "c-1", "note": "free text", **SENSITIVE}
    [referral] = intents_for(incoming("ReferralRequested", **payload), FULL, NOW)
    assert stored_details(referral, payload) == {"referral_id": "r-1", "consent_id": "c-1"}
