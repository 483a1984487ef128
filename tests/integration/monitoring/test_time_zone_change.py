"""A change of time zone on real Kafka and PostgreSQL: intake's ``ParticipantTimeZoneChanged``
becomes monitoring's ``TimeZoneNoted`` (stored and published), the due row moves the next
milestone to the start of its date in the new zone, and it is announced there, once. Redelivery
and a repeat of the same zone change nothing. The service runs on a clock the test moves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from services.monitoring.application.scheduler import MILESTONES, sweep_once
from services.monitoring.entrypoints import app as monitoring_app
from shared import cloudevents
from shared.catalogue.intake import ParticipantTimeZoneChanged, RiskLevelChanged
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.testing.kafka import eventually, produce_raw

from .helpers import AGENCY, MovableClock, data, discharged, enrolled, monitoring, publish_intake, published, stored

pytestmark = pytest.mark.integration

START = date(2026, 1, 10)  # the 7-day milestone is on 17 January
SEVEN_DAYS = date(2026, 1, 17)
ENROLLED_AT = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)
CHANGED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 02:00 on the 16th at UTC+14: before the milestone
NEW_YORK, KIRITIMATI = "America/New_York", "Pacific/Kiritimati"
KIRITIMATI_MIDNIGHT = datetime(2026, 1, 16, 10, tzinfo=UTC)  # the 17th begins at UTC+14
NEW_YORK_MIDNIGHT = datetime(2026, 1, 17, 5, tzinfo=UTC)  # the 17th begins at UTC-5
MINUTE = timedelta(minutes=1)


def record(event: DomainEvent, pid: UUID) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """One intake record, encoded once so it can be delivered twice with the same event id."""
    new = NewEvent(
        stream_id=f"participant-{pid}",
        stream_type="participant",
        agency_id=AGENCY,
        participant_id=pid,
        event=event,
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )
    key, value, headers = cloudevents.encode(new, "intake")
    return (key.encode() if key else None), value, headers


async def deliver(bootstrap: str, rec: tuple[bytes | None, bytes, list[tuple[str, bytes]]]) -> None:
    key, value, headers = rec
    await produce_raw(bootstrap, cloudevents.topic_for("intake"), value, key=key, headers=headers)


def changed(pid: UUID, time_zone: str | None, previous: str | None) -> ParticipantTimeZoneChanged:
    return ParticipantTimeZoneChanged(
        participant_id=pid, time_zone=time_zone, previous_time_zone=previous, changed_at=CHANGED_AT
    )


def risk_changed(pid: UUID, level: str) -> RiskLevelChanged:
    return RiskLevelChanged(
        participant_id=pid,
        assessment_id=uuid.uuid4(),
        previous_level=None,
        risk_level=level,
        reasons=("test",),
        changed_at=CHANGED_AT,
    )


async def test_a_move_from_kiritimati_to_new_york_moves_the_milestone_to_new_york_midnight(infra, monkeypatch):
    clock = MovableClock(ENROLLED_AT)
    monkeypatch.setattr(monitoring_app, "utc_now", clock)
    pid = uuid.uuid4()
    async with monitoring(infra) as svc:
        pool, bootstrap = svc.runtime.pool, infra.kafka_bootstrap

        async def due_at():
            return await pool.fetchval(
                "SELECT milestone_due_at FROM monitored_participants WHERE participant_id = $1 AND active", pid
            )

        await publish_intake(bootstrap, enrolled(pid, start=START, time_zone=KIRITIMATI, at=ENROLLED_AT), pid)
        assert await eventually(due_at, timeout=30, message="monitoring started") == KIRITIMATI_MIDNIGHT

        clock.at = CHANGED_AT
        moved = record(changed(pid, NEW_YORK, KIRITIMATI), pid)
        await deliver(bootstrap, moved)

        async def noted():
            return await stored(svc.runtime, pid, "TimeZoneNoted") or None

        [event] = await eventually(noted, timeout=30, message="the new zone noted")
        assert (event["time_zone"], datetime.fromisoformat(event["noted_at"])) == (NEW_YORK, CHANGED_AT)
        assert await due_at() == NEW_YORK_MIDNIGHT
        [line] = await pool.fetch(
            "SELECT summary FROM timeline WHERE participant_id = $1 AND event_type = 'TimeZoneNoted'", pid
        )
        assert line["summary"] == "Days now counted in time zone America/New_York"
        [out] = await published(bootstrap, pid, "TimeZoneNoted", count=1)
        published_data = data(out)
        assert (published_data["participant_id"], published_data["time_zone"]) == (str(pid), NEW_YORK)
        assert datetime.fromisoformat(published_data["noted_at"]) == CHANGED_AT

        # The same record again (the inbox drops it), the same zone in a new event (the aggregate
        # ignores it), then a risk change that does produce an event: once that is stored, the
        # two before it (same partition, in order) have been handled.
        await deliver(bootstrap, moved)
        await publish_intake(bootstrap, changed(pid, NEW_YORK, NEW_YORK), pid)
        await publish_intake(bootstrap, risk_changed(pid, "low"), pid)

        async def risk_noted():
            return await stored(svc.runtime, pid, "RiskLevelNoted") or None

        await eventually(risk_noted, timeout=30, message="the risk change after the repeats")
        assert len(await stored(svc.runtime, pid, "TimeZoneNoted")) == 1
        assert await due_at() == NEW_YORK_MIDNIGHT

        # Kiritimati's midnight passes quietly; New York's brings the milestone, once.
        clock.at = KIRITIMATI_MIDNIGHT + MINUTE
        assert await sweep_once(pool, MILESTONES, clock.at, 500) == (0, 0)
        await asyncio.sleep(1.5)  # the service's own milestone sweep polls every 0.2 s here
        assert await stored(svc.runtime, pid, "MilestoneReached") == []

        clock.at = NEW_YORK_MIDNIGHT + MINUTE

        async def milestones():
            return await stored(svc.runtime, pid, "MilestoneReached") or None

        [reached] = await eventually(milestones, timeout=15, message="the 7-day milestone at New York midnight")
        assert (reached["milestone"], reached["reached_on"]) == ("7-days", SEVEN_DAYS.isoformat())
        await asyncio.sleep(1.0)
        assert len(await stored(svc.runtime, pid, "MilestoneReached")) == 1
        assert await due_at() == NEW_YORK_MIDNIGHT + timedelta(days=30 - 7)  # 9 February, New York midnight
        assert len(await published(bootstrap, pid, "TimeZoneNoted", count=1)) == 1


async def handled_by_reactions(pool, *records: tuple[bytes | None, bytes, list[tuple[str, bytes]]]) -> bool:
    ids = [uuid.UUID(dict(r[2])["ce_id"].decode()) for r in records]
    count = await pool.fetchval(
        "SELECT count(*) FROM inbox WHERE consumer = 'waypoint.monitoring.reactions' AND event_id = ANY($1::uuid[])",
        ids,
    )
    return count == len(ids) or None


async def test_a_change_for_an_unknown_or_discharged_participant_records_nothing(infra, monkeypatch):
    clock = MovableClock(ENROLLED_AT)
    monkeypatch.setattr(monitoring_app, "utc_now", clock)
    pid = uuid.uuid4()
    async with monitoring(infra) as svc:
        pool, bootstrap = svc.runtime.pool, infra.kafka_bootstrap
        # Before the enrolment: monitoring does not know them yet, and the enrolment carries the zone.
        early = record(changed(pid, NEW_YORK, None), pid)
        await deliver(bootstrap, early)
        await eventually(lambda: handled_by_reactions(pool, early), timeout=30, message="the early change handled")
        assert await stored(svc.runtime, pid) == []

        await publish_intake(bootstrap, enrolled(pid, start=START, time_zone=KIRITIMATI, at=ENROLLED_AT), pid)
        await publish_intake(bootstrap, discharged(pid), pid)

        async def ended():
            return await stored(svc.runtime, pid, "MonitoringEnded") or None

        await eventually(ended, timeout=30, message="monitoring ended")
        late = [record(changed(pid, NEW_YORK, KIRITIMATI), pid), record(changed(pid, None, NEW_YORK), pid)]
        for rec in late:
            await deliver(bootstrap, rec)
        await eventually(lambda: handled_by_reactions(pool, *late), timeout=30, message="the late changes handled")
        assert [e["type"] for e in await stored(svc.runtime, pid)] == [
            "MonitoringStarted",
            "CheckInScheduleSet",
            "MonitoringEnded",
        ]
        assert (
            await pool.fetchval("SELECT milestone_due_at FROM monitored_participants WHERE participant_id = $1", pid)
            is None
        )
