from datetime import date, timedelta
from uuid import uuid4

import pytest
from intake_builders import NOW, enrol_order, when
from pydantic import ValidationError

from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeParticipant,
    EnrolParticipant,
    ReleaseToQueue,
)
from services.intake.domain.participant import (
    ParticipantStatus,
    decide_assign_specialist,
    decide_change_support_contact_consent,
    decide_change_time_zone,
    decide_discharge,
    decide_enrol,
    decide_release_to_queue,
    participant_aggregate,
)
from shared.catalogue.intake import (
    ParticipantDischarged,
    ParticipantEnrolled,
    ParticipantTimeZoneChanged,
    SpecialistAssigned,
    SpecialistUnassigned,
    SupportContactConsentChanged,
)
from shared.domain import Conflict, InvalidCommand, NotFound

pytestmark = pytest.mark.unit
P = participant_aggregate


def enrolled(**overrides) -> tuple[EnrolParticipant, list]:
    order = enrol_order(**overrides)
    return order, decide_enrol(P.initial(), order, NOW)


def test_enrolment_publishes_the_relationship_without_any_identifier():
    order, events = enrolled()
    assert len(events) == 1
    e = events[0]
    assert isinstance(e, ParticipantEnrolled)
    assert (e.participant_id, e.specialist_id, e.preferred_channel) == (order.participant_id, "spec-1", "sms")
    assert e.primary_substances == ("alcohol",)
    assert e.preferred_hours is not None and e.preferred_hours.start.hour == 9
    [contact] = e.support_contacts
    assert contact.support_contact_id == order.support_contacts[0].support_contact_id
    assert (contact.relation, contact.channel, contact.consent_to_contact) == ("sponsor", "email", True)
    payload = e.model_dump_json()
    for identifier in ("Robin", "Example", "+15550100", "Sam Sponsor", "sam@example.org"):
        assert identifier not in payload


def test_enrolling_twice_is_a_conflict():
    order, events = enrolled()
    with pytest.raises(Conflict):
        when(P, events, decide_enrol, order)


def test_the_time_zone_is_checked_and_published_and_today_is_the_participants():
    tomorrow_in_utc = NOW.date() + timedelta(days=1)  # NOW is 12:00 UTC: already tomorrow at UTC+14
    _, events = enrolled(time_zone="Pacific/Kiritimati", recovery_start_date=tomorrow_in_utc)
    assert events[0].time_zone == "Pacific/Kiritimati"
    with pytest.raises(InvalidCommand):
        decide_enrol(P.initial(), enrol_order(time_zone="America/New_York", recovery_start_date=tomorrow_in_utc), NOW)
    assert enrolled()[1][0].time_zone is None
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "x" * 80):
        with pytest.raises(ValidationError):
            enrol_order(time_zone=bad)


def test_a_recovery_start_date_in_the_future_is_invalid():
    order = enrol_order(recovery_start_date=NOW.date() + timedelta(days=1))
    with pytest.raises(InvalidCommand) as raised:
        decide_enrol(P.initial(), order, NOW)
    assert raised.value.field == "recovery_start_date"


def test_a_participant_enrolled_without_a_specialist_waits_in_the_queue():
    _, events = enrolled(specialist_id=None)
    state = P.fold(events)
    assert state.waiting_for_specialist


def test_assigning_from_the_queue_has_no_previous_specialist():
    order, events = enrolled(specialist_id=None)
    [e] = when(
        P,
        events,
        decide_assign_specialist,
        AssignSpecialist(participant_id=order.participant_id, specialist_id="spec-2"),
    )
    assert e == SpecialistAssigned(
        participant_id=order.participant_id, specialist_id="spec-2", previous_specialist_id=None, assigned_at=NOW
    )
    assert not P.fold([*events, e]).waiting_for_specialist


def test_a_transfer_names_the_previous_specialist():
    order, events = enrolled()
    [e] = when(
        P,
        events,
        decide_assign_specialist,
        AssignSpecialist(participant_id=order.participant_id, specialist_id="spec-2"),
    )
    assert isinstance(e, SpecialistAssigned)
    assert (e.specialist_id, e.previous_specialist_id) == ("spec-2", "spec-1")


def test_assigning_the_current_specialist_again_changes_nothing():
    order, events = enrolled()
    cmd = AssignSpecialist(participant_id=order.participant_id, specialist_id="spec-1")
    assert when(P, events, decide_assign_specialist, cmd) == []


def test_releasing_to_the_queue_remembers_who_had_the_participant():
    order, events = enrolled()
    [e] = when(P, events, decide_release_to_queue, ReleaseToQueue(participant_id=order.participant_id))
    assert e == SpecialistUnassigned(
        participant_id=order.participant_id, previous_specialist_id="spec-1", unassigned_at=NOW
    )
    assert P.fold([*events, e]).waiting_for_specialist


def test_releasing_someone_already_waiting_is_a_conflict():
    order, events = enrolled(specialist_id=None)
    with pytest.raises(Conflict):
        when(P, events, decide_release_to_queue, ReleaseToQueue(participant_id=order.participant_id))


def test_a_support_contact_consent_change_is_published_once():
    order, events = enrolled()
    contact_id = order.support_contacts[0].support_contact_id
    cmd = ChangeSupportContactConsent(
        participant_id=order.participant_id, support_contact_id=contact_id, consent_to_contact=False
    )
    [e] = when(P, events, decide_change_support_contact_consent, cmd)
    assert e == SupportContactConsentChanged(
        participant_id=order.participant_id, support_contact_id=contact_id, consent_to_contact=False, changed_at=NOW
    )
    assert when(P, [*events, e], decide_change_support_contact_consent, cmd) == []


def test_an_unknown_support_contact_is_not_found():
    order, events = enrolled()
    cmd = ChangeSupportContactConsent(
        participant_id=order.participant_id, support_contact_id=uuid4(), consent_to_contact=False
    )
    with pytest.raises(NotFound) as raised:
        when(P, events, decide_change_support_contact_consent, cmd)
    assert raised.value.field == "support_contact_id"


def test_discharge_is_recorded_with_its_reason_and_ends_the_relationship():
    order, events = enrolled()
    cmd = DischargeParticipant(participant_id=order.participant_id, reason="plan_completed")
    [e] = when(P, events, decide_discharge, cmd)
    assert e == ParticipantDischarged(participant_id=order.participant_id, reason="plan_completed", discharged_at=NOW)
    state = P.fold([*events, e])
    assert state.status is ParticipantStatus.DISCHARGED
    assert not state.waiting_for_specialist


@pytest.mark.parametrize(
    ("decide", "make"),
    [
        (decide_assign_specialist, lambda pid: AssignSpecialist(participant_id=pid, specialist_id="s")),
        (decide_release_to_queue, lambda pid: ReleaseToQueue(participant_id=pid)),
        (decide_discharge, lambda pid: DischargeParticipant(participant_id=pid, reason="other")),
    ],
)
def test_orders_for_an_unknown_participant_are_not_found_and_for_a_discharged_one_conflict(decide, make):
    with pytest.raises(NotFound):
        when(P, [], decide, make(uuid4()))
    order, events = enrolled()
    discharged = [
        *events,
        ParticipantDischarged(participant_id=order.participant_id, reason="other", discharged_at=NOW),
    ]
    with pytest.raises(Conflict):
        when(P, discharged, decide, make(order.participant_id))


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"preferred_channel": "email"}, ("contact",)),
        ({"preferred_channel": "pigeon"}, ("preferred_channel",)),
        ({"contact": None}, ("contact",)),
        ({"primary_substances": ["x" * 61]}, ("primary_substances", 0)),
        ({"recovery_start_date": "not a date"}, ("recovery_start_date",)),
        ({"contact": {"given_name": "", "family_name": "E", "phone": "+15550100"}}, ("contact", "given_name")),
        ({"contact": {"given_name": "R", "family_name": "E", "phone": "call me"}}, ("contact", "phone")),
        (
            {"contact": {"given_name": "R", "family_name": "E", "phone": "+15550100", "email": "x"}},
            ("contact", "email"),
        ),
        (
            {"support_contacts": [{"name": "A", "relation": "friend", "channel": "sms", "consent_to_contact": True}]},
            ("support_contacts", 0, "phone"),
        ),
        (
            {"support_contacts": [{"name": "A", "relation": "cousin", "channel": "app", "consent_to_contact": True}]},
            ("support_contacts", 0, "relation"),
        ),
        ({"preferred_hours": {"start": "09:00", "end": "09:00"}}, ("preferred_hours",)),
        ({"nickname": "R"}, ("nickname",)),
    ],
)
def test_an_enrolment_order_with_a_bad_field_is_rejected_naming_it(overrides, location):
    with pytest.raises(ValidationError) as raised:
        enrol_order(**overrides)
    assert location in [tuple(e["loc"]) for e in raised.value.errors()]


def test_a_display_name_alone_is_enough_to_enrol():
    order = EnrolParticipant.model_validate({"display_name": "Sam", "specialist_id": "spec-9"})
    [e] = decide_enrol(P.initial(), order, NOW)
    assert (e.specialist_id, e.recovery_start_date, e.primary_substances, e.preferred_channel) == (
        "spec-9",
        None,
        (),
        None,
    )
    assert "Sam" not in e.model_dump_json()


def test_support_contact_ids_must_be_unique():
    contact = {
        "support_contact_id": str(uuid4()),
        "name": "A",
        "relation": "friend",
        "channel": "app",
        "consent_to_contact": True,
    }
    with pytest.raises(ValidationError) as raised:
        enrol_order(support_contacts=[contact, {**contact, "name": "B"}])
    assert ("support_contacts",) in [tuple(e["loc"]) for e in raised.value.errors()]


def test_the_recovery_start_date_is_kept_for_days_in_recovery():
    _, events = enrolled(recovery_start_date=date(2026, 11, 1))
    assert P.fold(events).recovery_start_date == date(2026, 11, 1)


def test_a_time_zone_change_is_published_with_the_previous_one_and_a_repeat_changes_nothing():
    order, events = enrolled(time_zone="America/New_York")
    change = ChangeTimeZone(participant_id=order.participant_id, time_zone="America/Denver")
    [changed] = when(P, events, decide_change_time_zone, change)
    assert changed == ParticipantTimeZoneChanged(
        participant_id=order.participant_id, time_zone="America/Denver", previous_time_zone="America/New_York",
        changed_at=NOW,
    )
    assert when(P, [*events, changed], decide_change_time_zone, change) == []
    back_to_utc = ChangeTimeZone(participant_id=order.participant_id, time_zone=None)
    assert when(P, [*events, changed], decide_change_time_zone, back_to_utc)[0].time_zone is None
    with pytest.raises(ValidationError):
        ChangeTimeZone(participant_id=order.participant_id, time_zone="Nowhere/Land")
