"""Milestones on real Kafka and PostgreSQL fall due at the start of the participant's local date:
a participant enrolled through intake's ``ParticipantEnrolled`` with a time zone hears of their
7-day milestone at their midnight, not at UTC midnight, and once. The service runs on a clock the
test moves (the reactions, the schedulers and the API all read it)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.monitoring.application.scheduler import MILESTONES, sweep_once
from services.monitoring.entrypoints import app as monitoring_app
from shared.testing.kafka import eventually

from .helpers import MovableClock, data, enrolled, monitoring, publish_intake, published, stored

pytestmark = pytest.mark.integration

START = date(2026, 1, 10)
SEVEN_DAYS = date(2026, 1, 17)
ENROLLED_AT = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)  # the 1-day milestone has passed everywhere
UTC_MIDNIGHT = datetime(2026, 1, 17, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("time_zone", "local_midnight"),
    [
        ("America/New_York", datetime(2026, 1, 17, 5, tzinfo=UTC)),  # 5 hours after UTC midnight
        ("Pacific/Kiritimati", datetime(2026, 1, 16, 10, tzinfo=UTC)),  # 14 hours before it
    ],
)
async def test_the_milestone_is_announced_at_the_participants_midnight_not_utcs_and_once(
    infra, monkeypatch, time_zone, local_midnight
):
    clock = MovableClock(ENROLLED_AT)
    monkeypatch.setattr(monitoring_app, "utc_now", clock)
    pid = uuid.uuid4()
    async with monitoring(infra) as svc:
        pool = svc.runtime.pool
        await publish_intake(
            infra.kafka_bootstrap, enrolled(pid, start=START, time_zone=time_zone, at=ENROLLED_AT), pid
        )

        async def due_at():
            return await pool.fetchval(
                "SELECT milestone_due_at FROM monitored_participants WHERE participant_id = $1 AND active", pid
            )

        assert await eventually(due_at, timeout=30, message="monitoring started from the enrolment") == local_midnight
        [started] = await stored(svc.runtime, pid, "MonitoringStarted")
        assert started["time_zone"] == time_zone

        async def milestones():
            return await stored(svc.runtime, pid, "MilestoneReached") or None

        async def quiet_for_a_few_sweeps(at: datetime) -> None:
            clock.at = at
            assert await sweep_once(pool, MILESTONES, at, 500) == (0, 0)  # nothing due at this instant
            await asyncio.sleep(1.5)  # the service's own milestone sweep polls every 0.2 s here

        # Just before the first of the two boundaries, and between them: only the local one counts.
        await quiet_for_a_few_sweeps(min(local_midnight, UTC_MIDNIGHT) - MINUTE)
        assert await stored(svc.runtime, pid, "MilestoneReached") == []
        if local_midnight > UTC_MIDNIGHT:  # New York: UTC midnight is 19:00 the evening before
            await quiet_for_a_few_sweeps(UTC_MIDNIGHT + MINUTE)
            assert await stored(svc.runtime, pid, "MilestoneReached") == []
            assert await due_at() == local_midnight

        clock.at = local_midnight + MINUTE
        [reached] = await eventually(milestones, timeout=15, message="the 7-day milestone at local midnight")
        assert (reached["milestone"], reached["days"], reached["reached_on"]) == ("7-days", 7, SEVEN_DAYS.isoformat())
        assert reached["counted_from"] == START.isoformat()

        # Past the other boundary too: still once, and the next milestone waits for its own midnight.
        clock.at = max(local_midnight, UTC_MIDNIGHT) + MINUTE
        await asyncio.sleep(1.5)
        assert len(await stored(svc.runtime, pid, "MilestoneReached")) == 1
        assert await due_at() == local_midnight + timedelta(days=30 - 7)  # 9 February, same offset in winter
        [record] = await published(infra.kafka_bootstrap, pid, "MilestoneReached", count=1)
        assert data(record)["reached_on"] == SEVEN_DAYS.isoformat()
