"""A participant who moves (or whose zone intake corrects) has their days counted in the new zone
from then on: intake's ``ParticipantTimeZoneChanged`` becomes monitoring's ``TimeZoneNoted``, and
the next milestone falls due at the start of its date there (clock injected as ``now``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.monitoring.adapters import snapshots
from services.monitoring.adapters.tables import due_times
from services.monitoring.application import handlers, reactions
from services.monitoring.domain.commands import (
    CheckMilestones,
    EndMonitoring,
    NoteTimeZone,
    ReportRelapse,
    StartMonitoring,
)
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.participant_monitor import (
    decide_check_milestones,
    decide_end_monitoring,
    decide_note_time_zone,
    decide_report_relapse,
    decide_start_monitoring,
)
from services.monitoring.domain.timeline import describe
from shared.catalogue.intake import ParticipantTimeZoneChanged
from shared.catalogue.monitoring import TimeZoneNoted
from shared.clock import ManualClock
from shared.cloudevents import as_received
from shared.domain import InvalidCommand, NotFound
from shared.envelope import Metadata, NewEvent
from shared.memory import InMemoryUnitsOfWork
from shared.uow import UnitOfWork

from .helpers import PARTICIPANT, given, then_apply

pytestmark = pytest.mark.unit

START = date(2026, 1, 10)  # the 7-day milestone is on 17 January (winter: New York is UTC-5)
SEVEN_DAYS = date(2026, 1, 17)
ENROLLED_AT = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)
CHECK = CheckMilestones(participant_id=PARTICIPANT)
NEW_YORK, KIRITIMATI = "America/New_York", "Pacific/Kiritimati"  # UTC-5 in winter, UTC+14
KIRITIMATI_MIDNIGHT = datetime(2026, 1, 16, 10, tzinfo=UTC)  # the 17th begins at UTC+14
NEW_YORK_MIDNIGHT = datetime(2026, 1, 17, 5, tzinfo=UTC)  # the 17th begins at UTC-5


def monitored(time_zone: str | None) -> MonitorState:
    cmd = StartMonitoring(participant_id=PARTICIPANT, recovery_start_date=START, time_zone=time_zone)
    return given(decide_start_monitoring(given(), cmd, ENROLLED_AT))


def moved(state: MonitorState, time_zone: str | None, at: datetime) -> tuple[MonitorState, list[TimeZoneNoted]]:
    events = decide_note_time_zone(state, NoteTimeZone(participant_id=PARTICIPANT, time_zone=time_zone), at)
    assert all(isinstance(e, TimeZoneNoted) for e in events)
    return then_apply(state, events), events  # type: ignore[return-value]


def milestone_due_at(state: MonitorState, now: datetime) -> datetime | None:
    return due_times(state, now)[1]


def reached(state: MonitorState, now: datetime) -> list[tuple[str, date]]:
    return [(e.milestone, e.reached_on) for e in decide_check_milestones(state, CHECK, now)]


def test_moving_from_kiritimati_to_new_york_before_a_milestone_moves_it_to_the_new_york_boundary() -> None:
    state = monitored(KIRITIMATI)
    assert milestone_due_at(state, ENROLLED_AT) == KIRITIMATI_MIDNIGHT
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)  # 02:00 on the 16th at UTC+14: before the milestone
    state, [noted] = moved(state, NEW_YORK, at)
    assert (noted.participant_id, noted.time_zone, noted.noted_at) == (PARTICIPANT, NEW_YORK, at)
    assert state.time_zone == NEW_YORK
    assert milestone_due_at(state, at) == NEW_YORK_MIDNIGHT
    assert reached(state, KIRITIMATI_MIDNIGHT) == []  # the old boundary no longer counts
    assert reached(state, NEW_YORK_MIDNIGHT - timedelta(microseconds=1)) == []
    assert reached(state, NEW_YORK_MIDNIGHT) == [("7-days", SEVEN_DAYS)]


def test_moving_east_past_the_boundary_makes_the_milestone_due_at_once_dated_the_new_today() -> None:
    state = monitored(NEW_YORK)
    at = datetime(2026, 1, 16, 12, tzinfo=UTC)  # 07:00 on the 16th in New York, 02:00 on the 17th at UTC+14
    assert reached(state, at) == []
    state, _ = moved(state, KIRITIMATI, at)
    assert milestone_due_at(state, at) == KIRITIMATI_MIDNIGHT  # already past: the next sweep claims it
    assert reached(state, at) == [("7-days", SEVEN_DAYS)]


def test_moving_west_after_a_milestone_does_not_announce_it_again() -> None:
    state = monitored(KIRITIMATI)
    state = then_apply(state, decide_check_milestones(state, CHECK, KIRITIMATI_MIDNIGHT))
    at = KIRITIMATI_MIDNIGHT + timedelta(hours=2)  # still the 16th in New York
    state, _ = moved(state, NEW_YORK, at)
    assert reached(state, NEW_YORK_MIDNIGHT) == []
    assert milestone_due_at(state, at) == datetime(2026, 2, 9, 5, tzinfo=UTC)  # 30 days, New York midnight


def test_no_zone_means_utc_both_ways() -> None:
    state, [noted] = moved(monitored(NEW_YORK), None, ENROLLED_AT)
    assert noted.time_zone is None and state.time_zone is None
    assert milestone_due_at(state, ENROLLED_AT) == datetime(2026, 1, 17, tzinfo=UTC)
    state, [noted] = moved(monitored(None), KIRITIMATI, ENROLLED_AT)
    assert noted.time_zone == KIRITIMATI
    assert milestone_due_at(state, ENROLLED_AT) == KIRITIMATI_MIDNIGHT


@pytest.mark.parametrize("time_zone", [NEW_YORK, None])
def test_the_same_zone_again_is_no_event(time_zone: str | None) -> None:
    assert moved(monitored(time_zone), time_zone, ENROLLED_AT)[1] == []
    state, _ = moved(monitored(KIRITIMATI), time_zone, ENROLLED_AT)
    assert moved(state, time_zone, ENROLLED_AT + timedelta(hours=1))[1] == []  # a repeat of the change


def test_a_discharged_or_unknown_participant_gets_no_event() -> None:
    state = monitored(KIRITIMATI)
    state = then_apply(state, decide_end_monitoring(state, EndMonitoring(participant_id=PARTICIPANT), ENROLLED_AT))
    assert moved(state, NEW_YORK, ENROLLED_AT)[1] == []
    assert moved(MonitorState(), NEW_YORK, ENROLLED_AT)[1] == []


def test_the_participants_today_for_a_relapse_follows_the_new_zone() -> None:
    at = datetime(2026, 1, 17, 12, tzinfo=UTC)  # 07:00 on the 17th in New York, 02:00 on the 18th at UTC+14
    relapse = ReportRelapse(participant_id=PARTICIPANT, relapse_id=uuid.uuid4(), relapsed_on=date(2026, 1, 18))
    state = monitored(KIRITIMATI)
    assert decide_report_relapse(state, relapse, at)
    state, _ = moved(state, NEW_YORK, at - timedelta(hours=1))
    with pytest.raises(InvalidCommand):
        decide_report_relapse(state, relapse, at)


def test_the_snapshot_keeps_the_new_zone_in_the_same_format() -> None:
    state, _ = moved(monitored(KIRITIMATI), NEW_YORK, ENROLLED_AT)
    assert snapshots.FORMAT == 2  # the state's shape did not change
    assert snapshots.from_json(snapshots.to_json(state)) == state


def test_the_event_and_its_timeline_line() -> None:
    noted = TimeZoneNoted(participant_id=PARTICIPANT, time_zone=NEW_YORK, noted_at=ENROLLED_AT)
    assert set(noted.published()) >= {"participant_id", "time_zone", "noted_at"}
    assert describe("TimeZoneNoted", noted.model_dump(mode="json")) == "Days now counted in time zone America/New_York"
    assert describe("TimeZoneNoted", {"time_zone": None}) == "Days now counted in time zone UTC"
    changed = {"time_zone": NEW_YORK, "previous_time_zone": KIRITIMATI}
    assert describe("ParticipantTimeZoneChanged", changed) == (
        "Time zone changed from Pacific/Kiritimati to America/New_York"
    )


def _received(event: ParticipantTimeZoneChanged):  # type: ignore[no-untyped-def]
    new = NewEvent(
        stream_id=f"participant-{PARTICIPANT}",
        stream_type="participant",
        agency_id="agency-a",
        participant_id=PARTICIPANT,
        event=event,
        metadata=Metadata(correlation_id="c"),
    )
    return as_received(new, "intake")


async def test_the_reaction_notes_the_new_zone_and_drops_one_for_an_unknown_participant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "ParticipantTimeZoneChanged" in reactions.HANDLED
    seen: list[tuple[NoteTimeZone, str, datetime]] = []

    async def note_time_zone(cmd: NoteTimeZone, uow: UnitOfWork) -> None:
        seen.append((cmd, uow.caller_agency, uow.now))
        if len(seen) > 1:
            raise NotFound("participant is not known to monitoring", field="participant_id")

    monkeypatch.setattr(handlers, "note_time_zone", note_time_zone)
    units = InMemoryUnitsOfWork("monitoring", clock=ManualClock(ENROLLED_AT))
    changed = ParticipantTimeZoneChanged(
        participant_id=PARTICIPANT, time_zone=NEW_YORK, previous_time_zone=KIRITIMATI, changed_at=ENROLLED_AT
    )
    for _ in range(2):  # the second time the participant is unknown: nothing raised
        async with units.open(agency_id="agency-a") as uow:
            await reactions.on_intake_event(_received(changed), uow)
    cmd, agency, now = seen[0]
    assert (cmd.participant_id, cmd.time_zone, agency, now) == (PARTICIPANT, NEW_YORK, "agency-a", ENROLLED_AT)
