"""Missed check-ins on real Kafka and PostgreSQL: on time, escalating, reset, once per window."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.monitoring.application.scheduler import MISSED_CHECK_INS, Scheduler
from shared.db import create_pool
from shared.testing.kafka import eventually

from .helpers import STAFF, data, enrol_directly, enrolled, monitoring, publish_intake, published, stored

pytestmark = pytest.mark.integration


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_schedule_of_seconds_misses_on_time_escalates_on_the_second_miss_and_a_check_in_resets(infra):
    pid = uuid.uuid4()
    async with monitoring(infra) as svc:
        await publish_intake(infra.kafka_bootstrap, enrolled(pid), pid)

        async def started():
            return await svc.runtime.pool.fetchval(
                "SELECT active FROM monitored_participants WHERE participant_id = $1", pid
            )

        await eventually(started, timeout=30, message="monitoring started from the enrolment")
        put = await svc.client.put(
            f"/v1/participants/{pid}/check-in-schedule", headers=STAFF, json={"interval": "PT2S", "grace": "PT1S"}
        )
        assert put.status_code == 200, put.text
        assert put.json()["interval"] == "PT2S" and put.json()["basis"] == "custom"

        missed = await published(infra.kafka_bootstrap, pid, "CheckInMissed", count=2, timeout=20)
        first, second = (data(r) for r in missed[:2])
        assert (first["consecutive_misses"], second["consecutive_misses"]) == (1, 2)
        assert _ts(second["due_at"]) - _ts(first["due_at"]) == timedelta(seconds=2)
        for record in missed[:2]:
            deadline = _ts(data(record)["deadline"])
            published_at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
            # on time: the sweep polls every 0.1 s here; the relay wakes on NOTIFY
            assert timedelta(0) <= published_at - deadline < timedelta(seconds=2), (published_at, deadline)

        [escalation] = await published(infra.kafka_bootstrap, pid, "RiskEscalated", count=1, timeout=10)
        assert [r["code"] for r in data(escalation)["reasons"]] == ["consecutive_misses"]

        checked = await svc.client.post(
            f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 2, "mood": 4}
        )
        assert checked.status_code == 201, checked.text
        completed_at = datetime.now(UTC)

        async def miss_after_check_in():
            rows = await stored(svc.runtime, pid, "CheckInMissed")
            later = [r for r in rows if _ts(r["due_at"]) > completed_at]
            return later or None

        [after] = (await eventually(miss_after_check_in, timeout=15, message="the next miss"))[:1]
        assert after["consecutive_misses"] == 1


async def test_a_scheduler_restarted_after_deadlines_passed_emits_each_missed_window_once(infra):
    pid = uuid.uuid4()
    async with monitoring(infra, scheduler=False) as svc:
        await enrol_directly(svc.runtime, pid, interval="PT1S")
        database = svc.dsn.rsplit("/", 1)[1]
        set_at = datetime.now(UTC)
        await asyncio.sleep(4.5)  # windows run out while no scheduler runs
        assert await stored(svc.runtime, pid, "CheckInMissed") == []

    async with monitoring(infra, database=database) as svc:

        async def caught_up():
            rows = await stored(svc.runtime, pid, "CheckInMissed")
            return rows if len(rows) >= 6 else None

        rows = await eventually(caught_up, timeout=20, message="the missed windows")
        due = [_ts(r["due_at"]) for r in rows]
        assert len(due) == len(set(due)), "a window was recorded twice"
        assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(due)), "a window was skipped"
        assert due[0] - set_at < timedelta(seconds=1.5)
        assert [r["consecutive_misses"] for r in rows] == list(range(1, len(rows) + 1))
        # the ones that passed during the outage were all caught up by the first sweeps
        outage = [r for r in rows if _ts(r["deadline"]) < set_at + timedelta(seconds=4.5)]
        assert len(outage) >= 3


async def test_two_scheduler_instances_never_emit_the_same_window_twice(infra):
    people = [uuid.uuid4() for _ in range(60)]
    async with monitoring(infra, scheduler=False) as svc:
        for pid in people:
            await enrol_directly(svc.runtime, pid, interval="PT1S")
        pools = [await create_pool(svc.dsn, min_size=1, max_size=4) for _ in range(2)]
        schedulers = [Scheduler(p, MISSED_CHECK_INS, batch_size=7, idle_poll_s=0.01) for p in pools for _ in range(2)]
        tasks = [asyncio.create_task(s.run()) for s in schedulers]
        await asyncio.sleep(4)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for p in pools:
            await p.close()
        rows = await svc.runtime.pool.fetch(
            "SELECT participant_id, data->>'due_at' AS due_at, count(*) AS n FROM events"
            " WHERE event_type = 'CheckInMissed' GROUP BY 1, 2"
        )
        assert len(rows) >= len(people) * 2
        assert max(r["n"] for r in rows) == 1
        assert {r["participant_id"] for r in rows} == set(people)


async def test_snapshots_shorten_what_is_read_and_change_no_decision(infra, monkeypatch):
    from services.monitoring.adapters import snapshots
    from services.monitoring.adapters.streams import monitors, stream_id
    from services.monitoring.adapters.tables import PostgresTables
    from services.monitoring.domain.monitor_state import participant_monitor
    from shared.envelope import Metadata
    from shared.uow import UnitOfWork

    monkeypatch.setattr(snapshots, "EVERY", 3)
    pid = uuid.uuid4()
    async with monitoring(infra) as svc:
        await enrol_directly(svc.runtime, pid, interval="PT1S")

        async def misses():
            rows = await stored(svc.runtime, pid, "CheckInMissed")
            return rows if len(rows) >= 5 else None

        await eventually(misses, timeout=20, message="five misses")
        r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 1, "mood": 4})
        assert r.status_code == 201, r.text
        snap = await svc.runtime.pool.fetchrow("SELECT version FROM monitor_snapshots WHERE participant_id = $1", pid)
        assert snap is not None and snap["version"] >= 3
        async with svc.runtime.pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE monitored_participants IN EXCLUSIVE MODE")  # hold the sweeps still
            uow = UnitOfWork(conn, svc.runtime.store, "monitoring", Metadata(correlation_id="read"),
                             tables=PostgresTables(conn))
            loaded = await monitors.load(uow, pid)
            from_snapshot, version = loaded.state, loaded.version
            assert loaded.snapshot_version >= 3
            everything = await svc.runtime.store.read_stream(stream_id(pid), conn=conn)
        assert version == everything[-1].stream_version
        assert from_snapshot == participant_monitor.fold(e.event for e in everything)
        completed = [e for e in everything if e.event_type == "CheckInCompleted"]
        later = [
            e.data
            for e in everything
            if e.event_type == "CheckInMissed" and e.global_position > completed[0].global_position
        ]
        assert all(m["consecutive_misses"] == i for i, m in enumerate(later, start=1))
