"""Given/when/then over the notification aggregate's events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notifications_helpers import FULL, NOW, incoming

from services.notifications.domain.deliveries import (
    decide_attempt_outcome,
    decide_queue,
    decide_undeliverable,
    notification,
    notification_id_for,
)
from services.notifications.domain.rules import intents_for
from services.notifications.domain.vocabulary import Channel
from services.notifications.domain.webhooks import RetryPolicy
from shared.catalogue.notifications import (
    DeliveryAttemptFailed,
    NotificationFailed,
    NotificationQueued,
    NotificationSent,
)

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(max_attempts=3, base=timedelta(seconds=1), cap=timedelta(seconds=4))
[INTENT] = intents_for(incoming("ReferralRequested", recipient_agency_id="partner-9"), FULL, NOW)


def no_jitter() -> float:
    return 0.0


def given(*events):
    return notification.fold(events)


def queued():
    return decide_queue(notification.initial(), INTENT, Channel.WEBHOOK, NOW, NOW)


def outcome(history, ok, at=NOW):
    return decide_attempt_outcome(given(*history), ok, "HTTP 503", at, POLICY, no_jitter)


def test_queueing_names_recipient_channel_rule_and_cause():
    [event] = queued()
    assert isinstance(event, NotificationQueued)
    assert (event.recipient_id, event.channel, event.rule, event.cause_event_id) == (
        "partner-9",
        "webhook",
        "referral.webhook",
        INTENT.cause_event_id,
    )
    assert event.notification_id == notification_id_for(INTENT, Channel.WEBHOOK)


def test_queueing_twice_changes_nothing():
    assert decide_queue(given(*queued()), INTENT, Channel.WEBHOOK, NOW, NOW) == []


def test_a_receiver_that_fails_twice_then_succeeds_gets_exactly_one_sent():
    history = list(queued())
    history += outcome(history, ok=False)
    history += outcome(history, ok=False)
    history += outcome(history, ok=True)
    assert [type(e) for e in history] == [
        NotificationQueued,
        DeliveryAttemptFailed,
        DeliveryAttemptFailed,
        NotificationSent,
    ]
    sent = history[-1]
    assert isinstance(sent, NotificationSent) and sent.attempts == 3
    assert [e.retry_at - NOW for e in history[1:3]] == [timedelta(seconds=0.5), timedelta(seconds=1)]
    assert outcome(history, ok=True) == []  # a late duplicate success records nothing more


def test_after_the_last_permitted_try_the_notification_fails():
    history = list(queued())
    for _ in range(3):
        history += outcome(history, ok=False)
    last = history[-1]
    assert isinstance(last, NotificationFailed)
    assert last.attempts == 3 and "HTTP 503" in last.reason
    assert outcome(history, ok=True) == []


def test_an_address_less_recipient_fails_at_once_without_retries():
    [failed] = decide_undeliverable(given(*queued()), "no email address on file", NOW)
    assert isinstance(failed, NotificationFailed) and failed.attempts == 0


def test_outcomes_for_a_notification_never_queued_are_ignored():
    assert outcome([], ok=True) == []
    assert decide_undeliverable(notification.initial(), "x", NOW) == []


def test_each_channel_is_its_own_notification():
    assert notification_id_for(INTENT, Channel.EMAIL) != notification_id_for(INTENT, Channel.WEBHOOK)
