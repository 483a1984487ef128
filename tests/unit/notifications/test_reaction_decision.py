"""The consumer's decision for one event (shared by the per-record and the batch path): fold the
directory record, run the rules and the subscriptions, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

import pytest

from services.notifications.application.reactions import decide, responsible_agency
from services.notifications.domain.directory import AgencyStaff, ParticipantRecord, SupportContact
from services.notifications.domain.subscriptions import WebhookSubscription
from services.notifications.domain.vocabulary import Rule
from shared.catalogue.intake import SafetyConcernRaised
from shared.catalogue.monitoring import CheckInCompleted, CheckInMissed
from shared.cloudevents import ReceivedEvent, decode, encode, topic_for
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PID = UUID("00000000-0000-0000-0000-0000000000bb")
STAFF = AgencyStaff("agency-1", supervisor_id="sup-1", agency_admin_id="admin-1")
RECORD = ParticipantRecord(PID, "agency-1", "spec-1", support_contacts=(SupportContact("friend-1", True),))


def received(event: DomainEvent, agency_id: str = "agency-1") -> ReceivedEvent:
    service = type(event).service
    new = NewEvent(
        stream_id=f"{service}-{PID}",
        stream_type=service,
        agency_id=agency_id,
        participant_id=PID,
        event=event,
        metadata=Metadata(correlation_id="c-1"),
    )
    _, value, headers = encode(new, service)
    return decode(topic_for(service), 0, 0, value, headers)


def missed(n: int) -> CheckInMissed:
    return CheckInMissed(participant_id=PID, due_at=NOW, deadline=NOW, consecutive_misses=n, detected_at=NOW)


def test_a_directory_event_is_folded_before_the_rules_see_the_record():
    reaction = decide(received(missed(3)), RECORD, STAFF, [], NOW)
    assert reaction.save
    assert reaction.record.consecutive_misses == 3
    assert {(i.rule, i.recipient_id) for i in reaction.intents} == {
        (Rule.MISSED_CHECK_IN_SUPERVISOR, "sup-1"),
        (Rule.MISSED_CHECK_IN_SUPPORT_CONTACT, "friend-1"),
    }


def test_a_completed_check_in_resets_the_misses_and_tells_nobody():
    reaction = decide(
        received(
            CheckInCompleted(
                participant_id=PID,
                check_in_id=uuid.uuid4(),
                craving=1,
                mood=8,
                used_since_last_check_in=False,
                completed_at=NOW,
            )
        ),
        ParticipantRecord(PID, "agency-1", consecutive_misses=2),
        STAFF,
        [],
        NOW,
    )
    assert reaction.save and reaction.record.consecutive_misses == 0
    assert reaction.intents == []


def test_other_events_leave_the_record_alone_and_only_matching_subscriptions_hear():
    concern = SafetyConcernRaised(
        participant_id=PID, assessment_id=uuid.uuid4(), concerns=("self_harm_thoughts",), raised_at=NOW
    )
    ours = WebhookSubscription(uuid.uuid4(), "agency-1", "https://a.test/hook", frozenset({"SafetyConcernRaised"}))
    theirs = WebhookSubscription(uuid.uuid4(), "agency-2", "https://b.test/hook", frozenset({"SafetyConcernRaised"}))
    reaction = decide(received(concern), RECORD, STAFF, [ours, theirs], NOW)
    assert not reaction.save and reaction.record == RECORD
    assert [(i.rule, i.recipient_id) for i in reaction.intents] == [
        (Rule.SAFETY_CONCERN, "spec-1"),
        (Rule.SAFETY_CONCERN, "sup-1"),
        (Rule.SUBSCRIPTION, str(ours.subscription_id)),
    ]


def test_the_participants_agency_decides_whose_staff_apply():
    event = received(missed(1), agency_id="agency-2")
    assert responsible_agency(RECORD, event) == "agency-1"
    assert responsible_agency(ParticipantRecord(PID), event) == "agency-2"
