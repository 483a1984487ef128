"""Given/when/then over the alert aggregate: raise, acknowledge, escalate."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from notifications_helpers import FULL, NOW, incoming

from services.notifications.domain.alerts import (
    AcknowledgeAlert,
    NotYourAlert,
    alert,
    alert_id_for,
    decide_acknowledge,
    decide_escalate,
    decide_raise,
    escalation_intent,
)
from services.notifications.domain.rules import intents_for
from services.notifications.domain.vocabulary import Role, Rule, Urgency
from shared.catalogue.notifications import AlertAcknowledged, AlertEscalated, AlertRaised
from shared.domain import NotFound

pytestmark = pytest.mark.unit

TIMEOUT = timedelta(minutes=10)
SPECIALIST_INTENT, SUPERVISOR_INTENT = intents_for(incoming("SafetyConcernRaised"), FULL, NOW)
[ROUTINE_INTENT] = intents_for(incoming("PlanReviewRequested"), FULL, NOW)


def given(*events):
    return alert.fold(events)


def raised(intent=SPECIALIST_INTENT):
    return decide_raise(alert.initial(), intent, NOW, TIMEOUT)


def ack(by: str, intent=SPECIALIST_INTENT):
    return AcknowledgeAlert(alert_id=alert_id_for(intent), acknowledged_by=by)


def test_an_urgent_alert_must_be_acknowledged_within_the_timeout():
    [event] = raised()
    assert isinstance(event, AlertRaised)
    assert event.acknowledge_by == NOW + TIMEOUT
    assert (event.recipient_id, event.rule, event.cause_event_id) == (
        "spec-1",
        Rule.SAFETY_CONCERN.value,
        SPECIALIST_INTENT.cause_event_id,
    )


def test_a_routine_alert_has_no_deadline_and_never_escalates():
    history = raised(ROUTINE_INTENT)
    assert history[0].acknowledge_by is None
    assert decide_escalate(given(*history), FULL, NOW + timedelta(days=30), TIMEOUT) == []


def test_raising_the_same_alert_again_changes_nothing():
    assert decide_raise(given(*raised()), SPECIALIST_INTENT, NOW, TIMEOUT) == []


def test_the_addressee_acknowledges():
    [event] = decide_acknowledge(given(*raised()), ack("spec-1"), NOW)
    assert isinstance(event, AlertAcknowledged) and event.acknowledged_by == "spec-1"


def test_acknowledging_someone_elses_alert_is_refused():
    with pytest.raises(NotYourAlert) as error:
        decide_acknowledge(given(*raised()), ack("spec-2"), NOW)
    assert error.value.status == 403


def test_acknowledging_an_unknown_alert_is_not_found():
    with pytest.raises(NotFound):
        decide_acknowledge(alert.initial(), AcknowledgeAlert(alert_id=uuid.uuid4(), acknowledged_by="x"), NOW)


def test_acknowledging_twice_records_it_once():
    history = raised() + decide_acknowledge(given(*raised()), ack("spec-1"), NOW)
    assert decide_acknowledge(given(*history), ack("spec-1"), NOW) == []


@pytest.mark.parametrize(("minutes", "escalates"), [(9, False), (10, True), (60, True)])
def test_an_unacknowledged_urgent_alert_escalates_once_the_deadline_passed(minutes, escalates):
    events = decide_escalate(given(*raised()), FULL, NOW + timedelta(minutes=minutes), TIMEOUT)
    assert bool(events) is escalates


def test_escalation_climbs_one_level_at_a_time_and_stops_at_the_top():
    history = list(raised())
    later = NOW + TIMEOUT
    first = decide_escalate(given(*history), FULL, later, TIMEOUT)
    history += first
    second = decide_escalate(given(*history), FULL, later + TIMEOUT, TIMEOUT)
    history += second
    assert [(e.from_role, e.to_role, e.to_recipient_id) for e in first + second] == [
        ("specialist", "supervisor", "sup-1"),
        ("supervisor", "agency_admin", "admin-1"),
    ]
    assert all(isinstance(e, AlertEscalated) for e in history[1:])
    assert first[0].acknowledge_by == later + TIMEOUT
    assert decide_escalate(given(*history), FULL, later + 5 * TIMEOUT, TIMEOUT) == []


def test_an_acknowledged_alert_never_escalates():
    history = raised() + decide_acknowledge(given(*raised()), ack("spec-1"), NOW)
    assert decide_escalate(given(*history), FULL, NOW + 2 * TIMEOUT, TIMEOUT) == []


def test_escalation_skips_levels_nobody_holds():
    nobody_supervising = replace(FULL, supervisor_id=None)
    [event] = decide_escalate(given(*raised()), nobody_supervising, NOW + TIMEOUT, TIMEOUT)
    assert (event.to_role, event.to_recipient_id) == ("agency_admin", "admin-1")


def test_escalation_skips_a_level_held_by_the_person_who_did_not_answer():
    same_person = replace(FULL, agency_admin_id="sup-1")
    history = raised(SUPERVISOR_INTENT)
    assert decide_escalate(given(*history), same_person, NOW + TIMEOUT, TIMEOUT) == []


def test_after_escalation_both_addressees_may_acknowledge_and_nobody_else():
    history = raised() + decide_escalate(given(*raised()), FULL, NOW + TIMEOUT, TIMEOUT)
    assert decide_acknowledge(given(*history), ack("sup-1"), NOW)
    assert decide_acknowledge(given(*history), ack("spec-1"), NOW)
    with pytest.raises(NotYourAlert):
        decide_acknowledge(given(*history), ack("admin-1"), NOW)


def test_the_new_addressee_is_told_with_a_rule_of_its_own():
    history = raised()
    [escalated] = decide_escalate(given(*history), FULL, NOW + TIMEOUT, TIMEOUT)
    intent = escalation_intent(given(*history), escalated)
    assert (intent.rule, intent.recipient_role, intent.recipient_id, intent.urgency) == (
        Rule.ALERT_ESCALATED,
        Role.SUPERVISOR,
        "sup-1",
        Urgency.URGENT,
    )
    assert intent.dedup_key != SUPERVISOR_INTENT.dedup_key
    assert intent.cause_event_id == SPECIALIST_INTENT.cause_event_id
