from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from notifications_helpers import AGENCY, FULL, PARTICIPANT, incoming
from pydantic import ValidationError

from services.notifications.domain.preferences import RecipientPreferences, SetPreferences, plan_deliveries
from services.notifications.domain.rules import IncomingEvent, intents_for
from services.notifications.domain.subscriptions import (
    CreateWebhookSubscription,
    WebhookSubscription,
    subscribable_event_types,
    subscription_intents,
)
from services.notifications.domain.vocabulary import Channel, Role

pytestmark = pytest.mark.unit

NIGHT = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
MORNING = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def prefs(**kw):
    return RecipientPreferences.from_command(SetPreferences(recipient_id="x", **kw))


def plan(event_type, preferences, **payload):
    [intent, *_] = intents_for(incoming(event_type, **payload), FULL, NIGHT)
    return [(p.channel, p.not_before) for p in plan_deliveries(intent, preferences, NIGHT)]


@pytest.mark.parametrize(
    ("event_type", "preferences", "expected"),
    [
        ("MilestoneReached", None, [(Channel.EMAIL, NIGHT)]),
        ("MilestoneReached", prefs(quiet_hours="22:00-07:00"), [(Channel.EMAIL, MORNING)]),
        ("HelpRequested", prefs(quiet_hours="22:00-07:00"), [(Channel.IN_APP, NIGHT), (Channel.EMAIL, NIGHT)]),
        ("PlanReviewRequested", prefs(quiet_hours="22:00-07:00"), [(Channel.IN_APP, NIGHT), (Channel.EMAIL, MORNING)]),
        # email switched off: the staff inbox stays, it is where alerts are acknowledged
        ("PlanReviewRequested", prefs(channels=("webhook",)), [(Channel.IN_APP, NIGHT)]),
        ("HelpRequested", prefs(channels=("webhook",)), [(Channel.IN_APP, NIGHT)]),
        # a participant who switched every channel off hears nothing routine
        ("MilestoneReached", prefs(channels=()), []),
        ("SafetyConcernRaised", prefs(channels=()), [(Channel.IN_APP, NIGHT)]),
    ],
)
def test_delivery_plan_follows_preferences_and_quiet_hours(event_type, preferences, expected):
    assert plan(event_type, preferences) == expected


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("quiet_hours", {"quiet_hours": "late evening"}),
        ("quiet_hours", {"quiet_hours": "25:00-07:00"}),
        ("time_zone", {"quiet_hours": "22:00-07:00", "time_zone": "Nowhere/Special"}),
        ("email", {"email": "not-an-address"}),
        ("channels", {"channels": ("pigeon",)}),
        ("recipient_id", {"recipient_id": ""}),
    ],
)
def test_preferences_that_do_not_parse_are_rejected(field, kwargs):
    with pytest.raises(ValidationError) as error:
        SetPreferences(**{"recipient_id": "spec-1", **kwargs})
    assert field in {str(loc) for e in error.value.errors() for loc in e["loc"]}


def test_valid_preferences_parse():
    p = prefs(email="spec@example.org", quiet_hours="22:00-07:00", time_zone="Europe/Berlin", channels=("email",))
    assert p.email == "spec@example.org" and str(p.quiet_hours) == "22:00-07:00"
    assert p.channels == frozenset({Channel.EMAIL})


@pytest.mark.parametrize(
    "url",
    ["ftp://partner.example/hook", "javascript:alert(1)", "partner.example/hook", "https://", "https://u:p@h.example/"],
)
def test_a_webhook_url_that_is_not_http_is_rejected(url):
    with pytest.raises(ValidationError):
        CreateWebhookSubscription(url=url, event_types=("ReferralRequested",))


@pytest.mark.parametrize(
    "types",
    [("NoSuchEvent",), ("ReferralRequested", "Bogus"), (), ("NotificationSent",)],
)
def test_unknown_or_self_referential_event_types_are_rejected(types):
    with pytest.raises(ValidationError):
        CreateWebhookSubscription(url="https://partner.example/hook", event_types=types)


def test_a_valid_subscription_keeps_its_types_once_each():
    command = CreateWebhookSubscription(
        url="http://localhost:9000/hook", event_types=("ReferralRequested", "MilestoneReached", "ReferralRequested")
    )
    assert command.event_types == ("ReferralRequested", "MilestoneReached")
    assert {"CheckInMissed", "SafetyConcernRaised"} <= subscribable_event_types()


def subscription(agency=AGENCY, types=("MilestoneReached",), active=True):
    return WebhookSubscription(uuid.uuid4(), agency, "https://p.example/h", frozenset(types), active)


def test_subscriptions_hear_only_their_own_agencys_chosen_event_types():
    mine, other_type, other_agency, paused = (
        subscription(),
        subscription(types=("HelpRequested",)),
        subscription(agency="agency-2"),
        subscription(active=False),
    )
    event = incoming("MilestoneReached")
    [intent] = subscription_intents(event, [mine, other_type, other_agency, paused])
    assert (intent.recipient_id, intent.recipient_role, intent.channels) == (
        str(mine.subscription_id),
        Role.INTEGRATION,
        (Channel.WEBHOOK,),
    )
    assert intent.cause_event_id == event.event_id


def test_an_event_without_an_agency_reaches_no_subscription():
    event = IncomingEvent(uuid.uuid4(), "MilestoneReached", PARTICIPANT, NIGHT - timedelta(hours=1))
    assert subscription_intents(event, [subscription()]) == []
