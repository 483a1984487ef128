from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

import shared.catalogue  # noqa: F401
from shared.catalogue.intake import ParticipantEnrolled
from shared.events import (
    DomainEvent,
    UnknownEventType,
    event,
    event_class,
    load_event,
    parse_type,
    registered_events,
    upcaster,
)

pytestmark = pytest.mark.unit


@event("monitoring", version=3)
class _KernelTestUpcasted(DomainEvent):
    participant_id: str
    craving: int
    channel: str


@upcaster("_KernelTestUpcasted", 1)
def _v1_to_v2(data):
    renamed = dict(data)
    renamed["craving"] = renamed.pop("urge")
    return renamed


@upcaster("_KernelTestUpcasted", 2)
def _v2_to_v3(data):
    return {**data, "channel": "sms"}


def test_event_type_names_follow_the_cloudevents_contract():
    assert ParticipantEnrolled.type_name() == "waypoint.intake.ParticipantEnrolled.v1"
    assert parse_type("waypoint.intake.ParticipantEnrolled.v1") == ("intake", "ParticipantEnrolled", 1)


def test_every_event_name_of_the_architecture_is_registered():
    names = set(registered_events())
    assert {"ParticipantEnrolled", "AssessmentCompleted", "PlanCreated", "NotificationSent"} <= names


def test_old_schema_versions_are_upcast_step_by_step_on_read():
    loaded = load_event("_KernelTestUpcasted", 1, {"participant_id": "p", "urge": 7})
    assert loaded == _KernelTestUpcasted(participant_id="p", craving=7, channel="sms")


def test_a_version_newer_than_this_build_is_refused():
    with pytest.raises(UnknownEventType):
        load_event("_KernelTestUpcasted", 4, {})


def test_unknown_event_names_are_refused():
    with pytest.raises(UnknownEventType):
        event_class("NoSuchThingHappened")


@pytest.mark.parametrize("bad", ["intake.X.v1", "waypoint.intake.X", "waypoint.intake.X.vone", "x.y.z.v1"])
def test_malformed_type_strings_are_refused(bad):
    with pytest.raises(UnknownEventType):
        parse_type(bad)


def test_events_are_immutable_and_reject_unknown_fields():
    e = ParticipantEnrolled(participant_id=uuid4(), enrolled_at=datetime.now(UTC))
    with pytest.raises(ValidationError, match="frozen"):
        e.specialist_id = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="display_name"):
        ParticipantEnrolled(participant_id=uuid4(), enrolled_at=datetime.now(UTC), display_name="Alex")
