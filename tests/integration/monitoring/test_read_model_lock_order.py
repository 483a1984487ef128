"""Monitoring's read models under concurrent writers, on real PostgreSQL: two batches that
project overlapping participants wait for each other instead of deadlocking, and a consumer batch
of several records projects them once, at its end (the soak runs met PostgreSQL deadlocks between
the reactions consumer, projecting record by record, and the read-model consumer)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord

from services.monitoring.application import handlers
from services.monitoring.application.handlers import CheckInOrder, CheckInRecorded
from services.monitoring.domain.checkin import CheckInAnswers
from services.monitoring.projections import read_models
from shared import cloudevents
from shared.catalogue.intake import RiskLevelChanged, SpecialistAssigned
from shared.catalogue.monitoring import CheckInScheduleSet
from shared.cloudevents import ReceivedEvent, as_received
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.tenancy import system_scope

from .helpers import enrol_directly, enrolled, monitoring

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


def _specialist_assigned(pid: uuid.UUID, agency: str) -> ReceivedEvent:
    """An intake event that sets another caseload column (so another upsert statement)."""
    event = SpecialistAssigned(participant_id=pid, specialist_id="crs-2", assigned_at=datetime.now(UTC))
    return as_received(_new(event, pid, agency, "participant"), "intake")


class PausedBeforeSecondUpsert:
    """A connection that stops before its second caseload upsert until ``go`` is set."""

    def __init__(self, conn, go: asyncio.Event, paused: asyncio.Event) -> None:
        self._conn, self._go, self._paused, self._upserts = conn, go, paused, 0

    async def execute(self, sql: str, *args):
        if sql.startswith("INSERT INTO caseload"):
            self._upserts += 1
            if self._upserts == 2:
                self._paused.set()
                await self._go.wait()
        return await self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


async def test_two_batches_sharing_participants_wait_instead_of_deadlocking(svc):
    """Batch 1 sets x's due time and y's specialist; batch 2 sets y's due time and x's
    specialist. One upsert per column set: batch 1 locked x then y, batch 2 y then x, and with
    batch 1 paused between its two upserts PostgreSQL aborted one of them with a deadlock. Both
    now lock x and y in participant order first, so batch 2 simply waits for batch 1."""
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    x, y = sorted((uuid.uuid4(), uuid.uuid4()))
    pool = svc.runtime.pool
    go, paused = asyncio.Event(), asyncio.Event()

    async def batch_one() -> None:
        async with pool.acquire() as conn, conn.transaction():
            gated = PausedBeforeSecondUpsert(conn, go, paused)
            await read_models.apply_fresh(gated, [_schedule_set(x, agency), _specialist_assigned(y, agency)])

    async def batch_two() -> None:
        await paused.wait()
        async with pool.acquire() as conn, conn.transaction():
            await read_models.apply_fresh(conn, [_schedule_set(y, agency), _specialist_assigned(x, agency)])

    async def release_batch_one() -> None:
        await paused.wait()
        await asyncio.sleep(0.5)  # batch two is waiting on one of batch one's rows by now
        go.set()

    with system_scope():
        async with pool.acquire() as conn, conn.transaction():  # both rows exist
            await read_models.apply_fresh(conn, [_schedule_set(x, agency), _schedule_set(y, agency)])
        await asyncio.wait_for(asyncio.gather(batch_one(), batch_two(), release_batch_one()), 30)
        rows = await pool.fetch("SELECT participant_id, specialist_id FROM caseload WHERE agency_id = $1", agency)
    assert {r["participant_id"]: r["specialist_id"] for r in rows} == {x: "crs-2", y: "crs-2"}


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


def _risk_changed(pid: uuid.UUID, agency: str, level: str) -> NewEvent:
    event = RiskLevelChanged(participant_id=pid, assessment_id=uuid.uuid4(), previous_level=None, risk_level=level,
                             reasons=("test",), changed_at=datetime.now(UTC))
    return _new(event, pid, agency, "participant")


async def test_a_reactions_batch_and_a_check_in_batch_sharing_people_wait_instead_of_deadlocking(svc, monkeypatch):
    """The reactions consumer handles y's risk change, then x's; a check-in batch about x and y
    locks x then y. With the reactions batch paused between its two events, each held one person
    and waited for the other. Its prelude now locks both, in order, before the first handler."""
    rt = svc.runtime
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    x, y = sorted((uuid.uuid4(), uuid.uuid4()))
    for pid in (x, y):
        await enrol_directly(rt, pid, agency=agency)
    reactions = next(c for c in rt.consumers if c.name == "reactions")
    first_done, go = asyncio.Event(), asyncio.Event()
    original = reactions._handler

    async def pausing(received, uow):
        await original(received, uow)
        if not first_done.is_set():
            first_done.set()
            await go.wait()

    monkeypatch.setattr(reactions, "_handler", pausing)
    records = [_record(0, _risk_changed(y, agency, "high")), _record(1, _risk_changed(x, agency, "high"))]

    async def check_ins() -> None:
        await first_done.wait()
        orders = [CheckInOrder(pid, agency, CheckInAnswers(craving=3, mood=3),
                               Metadata(correlation_id=str(uuid.uuid4()), actor="crs-1"), datetime.now(UTC))
                  for pid in (x, y)]
        async with rt.uow(Metadata(correlation_id="batch")) as uow:
            results = await handlers.record_check_ins(orders, uow)
        assert all(isinstance(r, CheckInRecorded) for r in results)

    async def release() -> None:
        await first_done.wait()
        await asyncio.sleep(0.5)  # the check-in batch is waiting on a row the reactions batch holds
        go.set()

    with system_scope():
        outcome = await asyncio.wait_for(
            asyncio.gather(reactions._process_together(records), check_ins(), release()), 30)
        recorded = await rt.pool.fetch("SELECT participant_id FROM events WHERE participant_id = ANY($1)"
                                   " AND event_type = 'CheckInCompleted'", [x, y])
    assert outcome[0] == []
    assert len(recorded) == 2
