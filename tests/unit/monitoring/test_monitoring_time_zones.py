"""A participant's days are counted where they live: milestones fall due at the start of their
local date, "today" for a relapse is theirs, and a change of clocks moves no milestone (clock
injected as ``now``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.monitoring.adapters import snapshots
from services.monitoring.adapters.tables import due_times
from services.monitoring.application import handlers, reactions
from services.monitoring.domain.commands import CheckMilestones, ReportRelapse, StartMonitoring
from services.monitoring.domain.milestones import day_starts_at
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.participant_monitor import (
    decide_check_milestones,
    decide_report_relapse,
    decide_start_monitoring,
)
from shared.catalogue.intake import ParticipantEnrolled
from shared.catalogue.monitoring import MilestoneReached, MonitoringStarted
from shared.clock import ManualClock
from shared.cloudevents import as_received
from shared.domain import InvalidCommand
from shared.envelope import Metadata, NewEvent
from shared.memory import InMemoryUnitsOfWork
from shared.time_zones import local_date
from shared.uow import UnitOfWork

from .helpers import PARTICIPANT, given, then_apply

pytestmark = pytest.mark.unit

START = date(2026, 1, 10)  # the 7-day milestone is on 17 January (winter: New York is UTC-5)
SEVEN_DAYS = date(2026, 1, 17)
ENROLLED_AT = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)  # the 1-day milestone has passed everywhere
CHECK = CheckMilestones(participant_id=PARTICIPANT)
NEW_YORK, KIRITIMATI = "America/New_York", "Pacific/Kiritimati"  # UTC-5 in winter, UTC+14


def monitored(time_zone: str | None, *, start: date = START, at: datetime = ENROLLED_AT) -> MonitorState:
    cmd = StartMonitoring(participant_id=PARTICIPANT, recovery_start_date=start, time_zone=time_zone)
    return given(decide_start_monitoring(given(), cmd, at))


def milestone_due_at(state: MonitorState, now: datetime) -> datetime | None:
    return due_times(state, now)[1]


def reached(state: MonitorState, now: datetime) -> list[tuple[str, date]]:
    return [(e.milestone, e.reached_on) for e in decide_check_milestones(state, CHECK, now)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_the_time_zone_travels_from_the_enrolment_order_to_the_event_and_the_state() -> None:
    cmd = StartMonitoring(participant_id=PARTICIPANT, recovery_start_date=START, time_zone=NEW_YORK)
    events = decide_start_monitoring(given(), cmd, ENROLLED_AT)
    assert isinstance(events[0], MonitoringStarted) and events[0].time_zone == NEW_YORK
    assert given(events).time_zone == NEW_YORK
    assert "time_zone" in events[0].published()


@pytest.mark.parametrize(
    ("time_zone", "due_at"),
    [
        (NEW_YORK, utc(2026, 1, 17, 5)),  # local midnight is 05:00 UTC, not 00:00
        (KIRITIMATI, utc(2026, 1, 16, 10)),  # UTC+14: the local 17th begins on the UTC 16th
        (None, utc(2026, 1, 17, 0)),  # no zone known: UTC as before
    ],
)
def test_a_milestone_falls_due_at_the_start_of_its_local_date(time_zone: str | None, due_at: datetime) -> None:
    state = monitored(time_zone)
    assert milestone_due_at(state, ENROLLED_AT) == due_at
    assert reached(state, due_at - timedelta(microseconds=1)) == []
    assert reached(state, due_at) == [("7-days", SEVEN_DAYS)]


def test_in_new_york_the_seven_day_milestone_is_not_announced_on_the_evening_before() -> None:
    state = monitored(NEW_YORK)
    evening_before = utc(2026, 1, 17, 0, 30)  # 19:30 on the 16th in New York, already the 17th in UTC
    assert reached(state, evening_before) == []
    assert milestone_due_at(state, evening_before) == utc(2026, 1, 17, 5)


def test_once_announced_the_next_milestone_is_due_at_its_own_local_midnight() -> None:
    state = monitored(NEW_YORK)
    now = utc(2026, 1, 17, 5, 0, 1)
    state = then_apply(state, decide_check_milestones(state, CHECK, now))
    assert reached(state, now) == []  # once each
    assert milestone_due_at(state, now) == utc(2026, 2, 9, 5)  # 30 days: 9 February, EST


def test_the_participants_today_at_enrolment_decides_which_milestones_already_passed() -> None:
    # 21:00 on 10 January in New York is 02:00 on the 11th in UTC: the 1-day milestone (the 11th)
    # has not passed for the participant, so it is still announced, at their midnight.
    late_evening = utc(2026, 1, 11, 2)
    state = monitored(NEW_YORK, start=date(2026, 1, 10), at=late_evening)
    assert state.milestones_announced == frozenset()
    assert milestone_due_at(state, late_evening) == utc(2026, 1, 11, 5)
    assert reached(state, utc(2026, 1, 11, 5)) == [("1-day", date(2026, 1, 11))]
    # counted in UTC it had passed at enrolment and would never be announced
    assert monitored(None, start=date(2026, 1, 10), at=late_evening).milestones_announced == {"1-day"}


@pytest.mark.parametrize(
    ("start", "milestone", "on", "due_at"),
    [
        # New York springs forward at 02:00 on 8 March 2026, falls back at 02:00 on 1 November
        (date(2026, 3, 7), "1-day", date(2026, 3, 8), utc(2026, 3, 8, 5)),  # still EST at midnight
        (date(2026, 3, 8), "1-day", date(2026, 3, 9), utc(2026, 3, 9, 4)),  # EDT from now on
        (date(2026, 2, 6), "30-days", date(2026, 3, 8), utc(2026, 3, 8, 5)),
        (date(2026, 2, 7), "30-days", date(2026, 3, 9), utc(2026, 3, 9, 4)),
        (date(2026, 10, 2), "30-days", date(2026, 11, 1), utc(2026, 11, 1, 4)),  # EDT until 02:00
        (date(2026, 10, 3), "30-days", date(2026, 11, 2), utc(2026, 11, 2, 5)),
        (date(2025, 11, 1), "1-year", date(2026, 11, 1), utc(2026, 11, 1, 4)),
    ],
)
def test_a_change_of_clocks_moves_no_milestone_to_another_date(
    start: date, milestone: str, on: date, due_at: datetime
) -> None:
    state = monitored(NEW_YORK, start=start, at=datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=17))
    day_before = due_at - timedelta(hours=12)
    state = then_apply(state, decide_check_milestones(state, CHECK, day_before))  # the earlier ones
    assert milestone_due_at(state, day_before) == due_at
    assert reached(state, due_at - timedelta(seconds=1)) == []
    [(key, reached_on)] = reached(state, due_at)
    assert (key, reached_on) == (milestone, on)
    [event] = decide_check_milestones(state, CHECK, due_at)
    assert isinstance(event, MilestoneReached) and event.days == (on - start).days


def test_a_zone_that_moves_its_clocks_at_midnight_begins_the_day_when_the_clocks_jump() -> None:
    # Havana goes from 00:00 straight to 01:00 on 8 March 2026: the day begins at 05:00 UTC
    assert day_starts_at(date(2026, 3, 8), "America/Havana") == utc(2026, 3, 8, 5)
    assert local_date(utc(2026, 3, 8, 5), "America/Havana") == date(2026, 3, 8)


@pytest.mark.parametrize(
    "time_zone",
    [
        "America/New_York",
        "America/Havana",  # summer time at midnight
        "America/Santiago",  # summer time at midnight, southern hemisphere
        "America/Asuncion",
        "Asia/Beirut",  # summer time at midnight
        "Europe/London",
        "Australia/Lord_Howe",  # half-hour change
        "Asia/Kathmandu",  # UTC+05:45
        "Pacific/Chatham",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",  # UTC-11
        None,
    ],
)
def test_every_day_of_three_years_begins_at_the_first_instant_of_its_local_date(time_zone: str | None) -> None:
    day = date(2024, 1, 1)
    while day < date(2027, 1, 1):
        begins = day_starts_at(day, time_zone)
        assert local_date(begins, time_zone) == day, (time_zone, day)
        assert local_date(begins - timedelta(microseconds=1), time_zone) == day - timedelta(days=1), (time_zone, day)
        day += timedelta(days=1)


def test_a_zone_this_machine_does_not_know_counts_in_utc() -> None:
    state = monitored("Etc/Not_A_Zone")
    assert state.time_zone == "Etc/Not_A_Zone"  # kept as published
    assert milestone_due_at(state, ENROLLED_AT) == utc(2026, 1, 17)


def _relapse(on: date) -> ReportRelapse:
    return ReportRelapse(participant_id=PARTICIPANT, relapse_id=uuid.uuid4(), relapsed_on=on)


def test_a_relapse_may_be_dated_the_participants_today_and_not_their_tomorrow() -> None:
    # 02:00 UTC on the 17th is 21:00 on the 16th in New York: the 17th is their tomorrow
    ny, at = monitored(NEW_YORK), utc(2026, 1, 17, 2)
    with pytest.raises(InvalidCommand):
        decide_report_relapse(ny, _relapse(date(2026, 1, 17)), at)
    assert decide_report_relapse(ny, _relapse(date(2026, 1, 16)), at)
    # 12:00 UTC on the 17th is 02:00 on the 18th at UTC+14: the 18th is their today
    kiritimati, at = monitored(KIRITIMATI), utc(2026, 1, 17, 12)
    assert decide_report_relapse(kiritimati, _relapse(date(2026, 1, 18)), at)
    with pytest.raises(InvalidCommand):
        decide_report_relapse(monitored(None), _relapse(date(2026, 1, 18)), at)


def test_after_a_relapse_milestones_count_from_its_date_at_local_midnight() -> None:
    state = monitored(KIRITIMATI)
    at = utc(2026, 1, 20, 12)  # 02:00 on the 21st there
    state = then_apply(state, decide_report_relapse(state, _relapse(date(2026, 1, 21)), at))
    assert milestone_due_at(state, at) == utc(2026, 1, 21, 10)  # the 22nd begins at 10:00 UTC
    assert reached(state, utc(2026, 1, 21, 10)) == [("1-day", date(2026, 1, 22))]


def test_the_snapshot_keeps_the_time_zone_and_one_of_the_previous_format_is_ignored() -> None:
    state = monitored(NEW_YORK)
    assert snapshots.from_json(snapshots.to_json(state)) == state
    previous = json.loads(snapshots.to_json(state))
    del previous["time_zone"]
    previous["format"] = 1
    assert snapshots.from_json(json.dumps(previous)) is None


async def test_the_enrolment_reaction_passes_the_time_zone_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[StartMonitoring] = []

    async def start_monitoring(cmd: StartMonitoring, uow: UnitOfWork) -> None:
        seen.append(cmd)

    monkeypatch.setattr(handlers, "start_monitoring", start_monitoring)
    enrolled = ParticipantEnrolled(
        participant_id=PARTICIPANT,
        recovery_start_date=START,
        enrolled_at=ENROLLED_AT,
        time_zone=KIRITIMATI,
    )
    new = NewEvent(
        stream_id=f"participant-{PARTICIPANT}",
        stream_type="participant",
        agency_id="agency-a",
        participant_id=PARTICIPANT,
        event=enrolled,
        metadata=Metadata(correlation_id="c"),
    )
    async with InMemoryUnitsOfWork("monitoring", clock=ManualClock(ENROLLED_AT)).open(agency_id="agency-a") as uow:
        await reactions.on_intake_event(as_received(new, "intake"), uow)
    assert [(c.participant_id, c.time_zone) for c in seen] == [(PARTICIPANT, KIRITIMATI)]
