"""A participant's preferred contact hours from enrolment, in their time zone, are their quiet hours
by default: a routine email to them outside those hours waits until the hours begin. Urgent
messages never wait, the participant's own quiet hours win, and staff are not concerned.

The clock is injected: every decision is made at an explicit ``now``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from uuid import UUID

import pytest

from services.notifications.application.reactions import decide
from services.notifications.domain.directory import ContactHours, ParticipantRecord, apply_event
from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.preferences import RecipientPreferences, plan_deliveries
from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.vocabulary import Channel, Role, Rule, Urgency
from shared.catalogue.intake import ContactWindow, ParticipantEnrolled, ParticipantTimeZoneChanged
from shared.catalogue.monitoring import CheckInMissed
from shared.cloudevents import ReceivedEvent, decode, encode, topic_for
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent

pytestmark = pytest.mark.unit

PID = UUID("00000000-0000-0000-0000-0000000000cc")
LA = "America/Los_Angeles"
OFFICE = ContactHours(time(9), time(18))
EVENING = ContactHours(time(18), time(1))  # wraps past midnight


def utc(month: int, day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, month, day, h, m, tzinfo=UTC)


def record(hours: ContactHours | None = OFFICE, zone: str | None = None) -> ParticipantRecord:
    return ParticipantRecord(PID, "agency-1", "spec-1", time_zone=zone, preferred_hours=hours)


def intent(
    role: Role = Role.PARTICIPANT, urgency: Urgency = Urgency.ROUTINE, rule: Rule = Rule.MISSED_CHECK_IN_REMINDER
) -> NotificationIntent:
    recipient = str(PID) if role is Role.PARTICIPANT else "spec-1"
    channels = (Channel.EMAIL,) if role is Role.PARTICIPANT else (Channel.IN_APP, Channel.EMAIL)
    return NotificationIntent(rule, role, recipient, channels, urgency, uuid.uuid4(), PID)


def email_at(
    message: NotificationIntent,
    now: datetime,
    participant: ParticipantRecord,
    preferences: RecipientPreferences | None = None,
) -> datetime:
    plan = plan_deliveries(message, preferences, now, participant.enrolment_quiet_hours)
    [when] = [p.not_before for p in plan if p.channel is Channel.EMAIL]
    return when


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(3, 2, 7), utc(3, 2, 9)),  # before the hours: until they begin
        (utc(3, 2, 9), utc(3, 2, 9)),  # the start belongs to the hours
        (utc(3, 2, 12), utc(3, 2, 12)),
        (utc(3, 2, 17, 59), utc(3, 2, 17, 59)),
        (utc(3, 2, 18), utc(3, 3, 9)),  # the end does not: until tomorrow morning
        (utc(3, 2, 23), utc(3, 3, 9)),
    ],
)
def test_a_routine_email_to_the_participant_waits_for_their_preferred_hours(now, expected):
    assert email_at(intent(), now, record()) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(3, 2, 12), utc(3, 2, 18)),  # before the evening: until 18:00
        (utc(3, 2, 18), utc(3, 2, 18)),
        (utc(3, 2, 23, 30), utc(3, 2, 23, 30)),
        (utc(3, 3, 0, 30), utc(3, 3, 0, 30)),  # after midnight, still inside the hours
        (utc(3, 3, 1), utc(3, 3, 18)),  # the hours ended at 01:00: until the same evening
        (utc(3, 3, 5), utc(3, 3, 18)),
    ],
)
def test_preferred_hours_may_wrap_past_midnight(now, expected):
    assert email_at(intent(), now, record(EVENING)) == expected


def test_the_hours_are_the_participants_local_hours():
    # Early March, Los Angeles is UTC-8. 16:00 UTC is 08:00 there (waits until 09:00 = 17:00 UTC),
    # while for a participant in UTC it is inside 09:00-18:00. 02:00 UTC on the 3rd is 18:00 on the
    # 2nd in Los Angeles: the hours just ended, wait until 09:00 there (17:00 UTC on the 3rd).
    assert email_at(intent(), utc(3, 2, 16), record(zone=LA)) == utc(3, 2, 17)
    assert email_at(intent(), utc(3, 2, 16), record(zone=None)) == utc(3, 2, 16)
    assert email_at(intent(), utc(3, 3, 2), record(zone=LA)) == utc(3, 3, 17)
    assert email_at(intent(), utc(3, 3, 1, 59), record(zone=LA)) == utc(3, 3, 1, 59)  # 17:59 there
    assert email_at(intent(), utc(3, 3, 2), record(zone=None)) == utc(3, 3, 9)


def test_a_zone_this_machine_does_not_know_counts_as_utc():
    assert email_at(intent(), utc(3, 2, 7), record(zone="Mars/Olympus_Mons")) == utc(3, 2, 9)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Clocks spring forward on 8 March 2026 at 02:00 local: 22:00 PST on the 7th (06:00 UTC)
        # waits until 09:00 PDT on the 8th, which is 16:00 UTC, not 17:00.
        (utc(3, 8, 6), utc(3, 8, 16)),
        (utc(3, 7, 6), utc(3, 7, 17)),  # the day before: 09:00 PST
        # Clocks fall back on 1 November 2026: 09:00 PST on the 1st is 17:00 UTC (16:00 the day before).
        (utc(11, 1, 6), utc(11, 1, 17)),
        (utc(10, 31, 6), utc(10, 31, 16)),
    ],
)
def test_daylight_saving_time_moves_the_hours_with_the_local_clock(now, expected):
    assert email_at(intent(), now, record(zone=LA)) == expected


def test_an_urgent_message_never_waits():
    assert email_at(intent(urgency=Urgency.URGENT), utc(3, 2, 23), record()) == utc(3, 2, 23)


def test_without_preferred_hours_there_are_no_default_quiet_hours():
    assert record(hours=None, zone=LA).enrolment_quiet_hours is None
    assert email_at(intent(), utc(3, 2, 3), record(hours=None, zone=LA)) == utc(3, 2, 3)
    assert email_at(intent(), utc(3, 2, 3), ParticipantRecord(PID)) == utc(3, 2, 3)


def test_hours_that_start_where_they_end_give_no_default_quiet_hours():
    assert record(ContactHours(time(9), time(9))).enrolment_quiet_hours is None


def test_the_participants_own_quiet_hours_win_over_the_enrolment_default():
    own = RecipientPreferences(str(PID), "p@example.test", None, QuietHours.parse("23:00-06:00", "UTC"))
    # 20:00 in UTC is outside the enrolment hours (09:00-18:00) but not inside the own quiet hours.
    assert email_at(intent(), utc(3, 2, 20), record(), own) == utc(3, 2, 20)
    assert email_at(intent(), utc(3, 2, 23), record(), own) == utc(3, 3, 6)


def test_preferences_without_quiet_hours_leave_the_default_in_place():
    address_only = RecipientPreferences(str(PID), "p@example.test")
    assert email_at(intent(), utc(3, 2, 20), record(), address_only) == utc(3, 3, 9)


@pytest.mark.parametrize("rule", [Rule.MILESTONE_CONGRATULATIONS, Rule.MISSED_CHECK_IN_REMINDER])
def test_every_routine_message_to_the_participant_waits(rule):
    assert email_at(intent(rule=rule), utc(3, 2, 20), record()) == utc(3, 3, 9)


@pytest.mark.parametrize("urgency", [Urgency.ROUTINE, Urgency.URGENT])
def test_staff_are_not_held_by_the_participants_hours(urgency):
    staff = intent(Role.SPECIALIST, urgency, Rule.MISSED_CHECK_IN_OUTREACH)
    assert email_at(staff, utc(3, 2, 20), record()) == utc(3, 2, 20)


# --- the directory keeps the enrolment's zone and hours, and the consumer's decision uses them ---


def received(event: DomainEvent) -> ReceivedEvent:
    service = type(event).service
    new = NewEvent(
        stream_id=f"{service}-{PID}",
        stream_type=service,
        agency_id="agency-1",
        participant_id=PID,
        event=event,
        metadata=Metadata(correlation_id="c-1"),
    )
    _, value, headers = encode(new, service)
    return decode(topic_for(service), 0, 0, value, headers)


def enrolled(**extra: object) -> ReceivedEvent:
    return received(ParticipantEnrolled(participant_id=PID, specialist_id="spec-1", enrolled_at=utc(3, 2, 0), **extra))


def test_the_enrolment_zone_and_hours_are_kept_in_the_directory():
    event = enrolled(time_zone=LA, preferred_hours=ContactWindow(start=time(22), end=time(6, 30)))
    reaction = decide(event, ParticipantRecord(PID), None, [], utc(3, 2, 0))
    assert reaction.save
    assert (reaction.record.time_zone, reaction.record.preferred_hours) == (LA, ContactHours(time(22), time(6, 30)))
    quiet = reaction.record.enrolment_quiet_hours
    assert quiet is not None and str(quiet) == "06:30-22:00"


def test_an_enrolment_without_zone_or_hours_keeps_none():
    reaction = decide(enrolled(), ParticipantRecord(PID), None, [], utc(3, 2, 0))
    assert (reaction.record.time_zone, reaction.record.preferred_hours) == (None, None)


def test_other_events_leave_the_zone_and_hours_alone():
    kept = record(zone=LA)
    missed = CheckInMissed(
        participant_id=PID, due_at=utc(3, 2, 0), deadline=utc(3, 2, 0), consecutive_misses=1, detected_at=utc(3, 2, 0)
    )
    reaction = decide(received(missed), kept, None, [], utc(3, 2, 0))
    assert (reaction.record.time_zone, reaction.record.preferred_hours) == (LA, OFFICE)


@pytest.mark.parametrize("raw", [None, "09:00-18:00", {"start": "09:00"}, {"start": "nine", "end": "18:00"}])
def test_an_unreadable_window_is_no_window(raw):
    folded = apply_event(ParticipantRecord(PID), "ParticipantEnrolled", {"preferred_hours": raw})
    assert folded.preferred_hours is None


# --- a time zone change moves the default quiet hours to the new zone ---


def zone_changed(to: str | None, previous: str | None = LA) -> ReceivedEvent:
    return received(
        ParticipantTimeZoneChanged(
            participant_id=PID, time_zone=to, previous_time_zone=previous, changed_at=utc(3, 2, 0)
        )
    )


TOKYO = "Asia/Tokyo"


def test_a_time_zone_change_replaces_the_zone_and_keeps_everything_else():
    before = ParticipantRecord(
        PID, "agency-1", "spec-1", consecutive_misses=2, time_zone=LA, preferred_hours=OFFICE, discharged=False
    )
    folded = apply_event(before, "ParticipantTimeZoneChanged", {"participant_id": str(PID), "time_zone": TOKYO})
    assert folded == ParticipantRecord(
        PID, "agency-1", "spec-1", consecutive_misses=2, time_zone=TOKYO, preferred_hours=OFFICE
    )


@pytest.mark.parametrize("to", [None, ""])
def test_a_change_to_no_zone_means_utc(to):
    folded = apply_event(record(zone=LA), "ParticipantTimeZoneChanged", {"time_zone": to, "previous_time_zone": LA})
    assert (folded.time_zone, folded.preferred_hours) == (None, OFFICE)


def test_a_change_before_any_enrolment_sets_the_zone_only():
    folded = apply_event(ParticipantRecord(PID), "ParticipantTimeZoneChanged", {"time_zone": TOKYO}, "agency-1")
    assert folded == ParticipantRecord(PID, "agency-1", time_zone=TOKYO)
    assert folded.enrolment_quiet_hours is None  # no preferred hours: still no default


def test_the_consumer_keeps_the_new_zone_and_later_reminders_wait_for_the_hours_there():
    reaction = decide(zone_changed(TOKYO), record(zone=LA), None, [], utc(3, 2, 0))
    assert reaction.save and reaction.intents == []
    assert (reaction.record.time_zone, reaction.record.preferred_hours) == (TOKYO, OFFICE)
    # 20:00 UTC is 12:00 in Los Angeles (inside the hours) but 05:00 the next day in Tokyo:
    # the reminder now waits until 09:00 in Tokyo (00:00 UTC on the 3rd).
    assert email_at(intent(), utc(3, 2, 20), record(zone=LA)) == utc(3, 2, 20)
    assert email_at(intent(), utc(3, 2, 20), reaction.record) == utc(3, 3, 0)


def test_the_latest_change_wins():
    first = decide(zone_changed(TOKYO), record(zone=LA), None, [], utc(3, 2, 0)).record
    second = decide(zone_changed(None, TOKYO), first, None, [], utc(3, 2, 1)).record
    assert (second.time_zone, second.preferred_hours) == (None, OFFICE)
    assert email_at(intent(), utc(3, 2, 20), second) == utc(3, 3, 9)  # 09:00 UTC
