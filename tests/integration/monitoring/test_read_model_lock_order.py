"""Monitoring's read models under concurrent writers, on real PostgreSQL: two transactions that
project overlapping participants wait for each other instead of deadlocking, and a consumer batch
of several records projects them once, at its end (the soak runs met PostgreSQL deadlocks between
the reactions consumer, projecting record by record, and the read-model consumer)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord

from services.monitoring.projections import read_models
from shared import cloudevents
from shared.catalogue.monitoring import CheckInScheduleSet
from shared.cloudevents import ReceivedEvent, as_received
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.tenancy import system_scope

from .helpers import enrolled, monitoring

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra, scheduler=False) as running:
        yield running


def _new(event: DomainEvent, pid: uuid.UUID, agency: str, stream: str) -> NewEvent:
    return NewEvent(stream_id=f"{stream}-{pid}", stream_type=stream, agency_id=agency, participant_id=pid,
                    event=event, metadata=Metadata(correlation_id=str(uuid.uuid4())))


def _schedule_set(pid: uuid.UUID, agency: str) -> ReceivedEvent:
    """A monitoring event that sets caseload columns (as the inline projection writes them)."""
    now = datetime.now(UTC)
    event = CheckInScheduleSet(participant_id=pid, interval=timedelta(days=1), grace=timedelta(hours=6),
                               basis="custom", next_due_at=now, set_at=now)
    return as_received(_new(event, pid, agency, "monitor"), "monitoring")


async def test_two_projections_sharing_participants_wait_instead_of_deadlocking(svc):
    """T1 projects b, then (later in the same transaction) a; meanwhile T2 projects a and b in
    one batch. Locking rows as they come, T2 held a and waited for b while T1 held b and asked for
    a: PostgreSQL aborted one of them with a deadlock. Now T2 waits for T1's agency lock."""
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    a, b = sorted((uuid.uuid4(), uuid.uuid4()))
    first_done, second_started = asyncio.Event(), asyncio.Event()
    pool = svc.runtime.pool

    async def one_batch_at_a_time() -> None:  # T1: b now, a later
        async with pool.acquire() as conn, conn.transaction():
            await read_models.apply_fresh(conn, [_schedule_set(b, agency)])
            first_done.set()
            await second_started.wait()
            await asyncio.sleep(0.3)  # T2 is waiting on one of T1's locks by now
            await read_models.apply_fresh(conn, [_schedule_set(a, agency)])

    async def both_at_once() -> None:  # T2: a and b
        await first_done.wait()
        async with pool.acquire() as conn, conn.transaction():
            second_started.set()
            await read_models.apply_fresh(conn, [_schedule_set(a, agency), _schedule_set(b, agency)])

    with system_scope():
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(one_batch_at_a_time(), both_at_once()), 30)
        rows = await pool.fetch("SELECT participant_id FROM caseload WHERE agency_id = $1", agency)
    assert {r["participant_id"] for r in rows} == {a, b}
    assert time.monotonic() - started < 10


def _record(offset: int, new: NewEvent) -> ConsumerRecord:
    key, value, headers = cloudevents.encode(new, "intake")
    return ConsumerRecord(cloudevents.topic_for("intake"), 0, offset, 0, 0, key.encode() if key else None, value,
                          None, 0, len(value), headers)


async def test_a_consumer_batch_projects_its_records_once_at_its_end(svc, monkeypatch):
    """Three enrolments in one batch of the reactions consumer: one projection call with all
    their events, after every record's handler (so its locks are taken in one sorted pass)."""
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    people = [uuid.uuid4() for _ in range(3)]
    records = [_record(i, _new(enrolled(pid), pid, agency, "participant")) for i, pid in enumerate(people)]
    calls: list[list[uuid.UUID]] = []
    original = read_models.apply_fresh

    async def counted(conn, fresh, **options):
        calls.append(sorted({e.participant_id for e in fresh if e.participant_id}))
        await original(conn, fresh, **options)

    monkeypatch.setattr(read_models, "apply_fresh", counted)
    reactions = next(c for c in svc.runtime.consumers if c.name == "reactions")
    with system_scope():
        dead = await reactions._process_together(records)
        rows = await svc.runtime.pool.fetch(
            "SELECT participant_id, monitored_since IS NOT NULL AS started FROM caseload WHERE agency_id = $1", agency
        )
    assert dead == []
    assert calls == [sorted(people)]
    assert {r["participant_id"] for r in rows if r["started"]} == set(people)
