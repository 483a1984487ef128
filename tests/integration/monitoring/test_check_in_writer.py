"""Group commit of check-ins and the inline projection of monitoring's own events, on real Kafka
and PostgreSQL: a batch decides and writes exactly what one-at-a-time check-ins would, a refused
order fails alone, a failed batch falls back to one transaction per check-in, and a check-in is in
the timeline when the API answers without being counted twice when it comes back over Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.monitoring.adapters.tables import PRIVATE_BODY
from services.monitoring.application import check_in_writer, handlers
from services.monitoring.application.check_in_writer import CheckInWriter
from services.monitoring.application.handlers import CheckInOrder, CheckInRecorded
from services.monitoring.domain.checkin import CheckInAnswers
from services.monitoring.projections import read_models
from shared import inbox
from shared.domain import Conflict, NotFound
from shared.envelope import Metadata
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .helpers import AGENCY, STAFF, discharged, enrol_directly, monitoring, publish_intake, published, stored

pytestmark = pytest.mark.integration

CRAVINGS = (2, 4, 6, 8)  # rising over three check-ins, then high: escalations on the last two


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra, scheduler=False) as running:
        yield running


def _order(pid: uuid.UUID, craving: int, *, agency: str = AGENCY, note: str | None = None) -> CheckInOrder:
    return CheckInOrder(
        pid,
        agency,
        CheckInAnswers(craving=craving, mood=3, private_note=note),
        Metadata(correlation_id=str(uuid.uuid4()), actor="crs-1"),
        datetime.now(UTC),
    )


async def _someone_in_a_new_agency(rt) -> tuple[dict[str, str], dict[str, str], uuid.UUID]:
    """A specialist's and a supervisor's headers and a monitored participant, alone in an agency
    (so the agency's daily counts are theirs only)."""
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    pid = uuid.uuid4()
    await enrol_directly(rt, pid, agency=agency)
    return (
        bearer(sub="crs-1", agency_id=agency, roles=("specialist",)),
        bearer(sub="sup-1", agency_id=agency, roles=("supervisor",)),
        pid,
    )


@contextlib.asynccontextmanager
async def _running_writer(rt) -> AsyncIterator[CheckInWriter]:
    """A check-in writer with one writer task, stopped at the end of the block."""
    writer = CheckInWriter(rt.pool, rt.store, writers=1)
    runner = asyncio.create_task(writer.run())
    try:
        yield writer
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def _comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must match between two participants' streams (ids and times differ)."""
    out = []
    for e in events:
        if e["type"] == "CheckInCompleted":
            out.append((e["type"], e["craving"], e["mood"]))
        elif e["type"] == "RiskEscalated":
            out.append((e["type"], e["from_level"], e["to_level"], tuple(r["code"] for r in e["reasons"])))
        else:
            out.append((e["type"],))
    return out


async def test_a_batch_writes_what_one_check_in_at_a_time_writes(svc):
    rt = svc.runtime
    batched, alone = uuid.uuid4(), uuid.uuid4()
    for pid in (batched, alone):
        await enrol_directly(rt, pid)
    async with rt.uow(Metadata(correlation_id="batch")) as uow:
        results = await handlers.record_check_ins([_order(batched, c) for c in CRAVINGS], uow)
    assert all(isinstance(r, CheckInRecorded) for r in results)
    for c in CRAVINGS:
        order = _order(alone, c)
        async with rt.uow(order.metadata, agency_id=AGENCY) as uow:
            await handlers.record_check_in(order.command(), uow)
    from_batch, one_by_one = await stored(rt, batched), await stored(rt, alone)
    assert _comparable(from_batch) == _comparable(one_by_one)
    assert [e["type"] for e in from_batch].count("RiskEscalated") == 2
    versions = await rt.pool.fetch(
        "SELECT stream_version FROM events WHERE participant_id = $1 ORDER BY stream_version", batched
    )
    assert [r["stream_version"] for r in versions] == list(range(1, len(versions) + 1))
    # the due row and the answer follow the last check-in of the batch
    last = results[-1]
    assert isinstance(last, CheckInRecorded)
    async with rt.uow(Metadata(correlation_id="read"), agency_id=AGENCY) as uow:
        alone_state = await handlers.read_monitor(uow, alone)
    assert last.state.risk_level == alone_state.risk_level != "moderate"
    assert last.state.recent_cravings == alone_state.recent_cravings
    deadline = await rt.pool.fetchval(
        "SELECT check_in_deadline FROM monitored_participants WHERE participant_id = $1", batched
    )
    assert deadline == last.state.schedule.deadline


async def test_a_refused_order_fails_alone_and_writes_nothing(svc, infra):
    rt = svc.runtime
    ok, gone, other_agency = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    unknown = uuid.uuid4()
    await enrol_directly(rt, ok)
    await enrol_directly(rt, gone)
    await enrol_directly(rt, other_agency, agency="agency-elsewhere")
    await publish_intake(infra.kafka_bootstrap, discharged(gone), gone)
    await eventually(
        lambda: rt.pool.fetchval("SELECT NOT active FROM monitored_participants WHERE participant_id = $1", gone)
    )
    before = {pid: len(await stored(rt, pid)) for pid in (gone, other_agency)}
    orders = [_order(ok, 3), _order(unknown, 3), _order(gone, 3), _order(other_agency, 3), _order(ok, 4, note="x")]
    async with rt.uow(Metadata(correlation_id="batch")) as uow:
        results = await handlers.record_check_ins(orders, uow)
    assert [type(r) for r in results] == [CheckInRecorded, NotFound, Conflict, NotFound, CheckInRecorded]
    assert [e["type"] for e in await stored(rt, ok)].count("CheckInCompleted") == 2
    assert {pid: len(await stored(rt, pid)) for pid in (gone, other_agency)} == before
    notes = await rt.pool.fetch("SELECT body, ref_id FROM private_texts WHERE participant_id = $1", ok)
    opened = await rt.keys.keys(rt.pool, [ok])  # stored sealed under the participant's data key
    assert [(opened.open(ok, PRIVATE_BODY, n["body"]), n["ref_id"]) for n in notes] == [("x", orders[-1].check_in_id)]
    assert all(n["body"] != "x" for n in notes)


async def test_concurrent_requests_share_transactions_and_each_gets_its_own_answer(svc):
    rt = svc.runtime
    people = [uuid.uuid4() for _ in range(30)]
    for pid in people:
        await enrol_directly(rt, pid)
    before = check_in_writer.BATCH_SIZE._sum.get(), sum(b.get() for b in check_in_writer.BATCH_SIZE._buckets)
    outsider = bearer(sub="crs-9", agency_id="agency-elsewhere", roles=("specialist",))
    requests = [
        svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 9, "mood": 2})
        for pid in people
    ] + [svc.client.post(f"/v1/participants/{people[0]}/check-ins", headers=outsider, json={"craving": 1, "mood": 3})]
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [201] * len(people) + [404]
    assert {(a.json()["escalated"], a.json()["risk_level"]) for a in answers[:-1]} == {(True, "high")}
    assert len({a.json()["check_in_id"] for a in answers[:-1]}) == len(people)
    written = check_in_writer.BATCH_SIZE._sum.get() - before[0]
    batches = sum(b.get() for b in check_in_writer.BATCH_SIZE._buckets) - before[1]
    assert written == len(people) + 1  # every order went through the writer ...
    assert batches < written  # ... and at least some shared a transaction


async def test_a_failed_batch_is_written_one_check_in_at_a_time(svc, monkeypatch):
    rt = svc.runtime
    people = [uuid.uuid4() for _ in range(4)]
    for pid in people:
        await enrol_directly(rt, pid)

    async def broken(orders, uow):
        raise RuntimeError("the batch statement failed")

    monkeypatch.setattr(handlers, "record_check_ins", broken)
    async with _running_writer(rt) as writer:
        orders = [_order(pid, 5) for pid in people] + [_order(uuid.uuid4(), 5)]
        results = await asyncio.gather(*(writer.submit(o) for o in orders), return_exceptions=True)
    assert [type(r) for r in results] == [CheckInRecorded] * 4 + [NotFound]
    for pid, result, order in zip(people, results, orders, strict=False):
        completed = await stored(rt, pid, "CheckInCompleted")
        assert [c["check_in_id"] for c in completed] == [str(order.check_in_id)] == [str(result.check_in_id)]


async def test_a_check_in_is_in_the_timeline_when_the_api_answers_and_counted_once(svc, infra):
    rt = svc.runtime
    staff, supervisor, pid = await _someone_in_a_new_agency(rt)
    group = read_models.GROUP_ID
    duplicates_before = inbox.DUPLICATES.labels(group)._value.get()
    ids = []
    for craving in (1, 2, 3):
        r = await svc.client.post(
            f"/v1/participants/{pid}/check-ins", headers=staff, json={"craving": craving, "mood": 4}
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["check_in_id"])
        # no waiting: the row was written in the check-in's own transaction
        page = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=staff)).json()
        assert r.json()["check_in_id"] in [e["data"].get("check_in_id") for e in page["entries"]]
    assert (await svc.client.get("/v1/overview", headers=supervisor)).json()["today"]["check_ins"] == 3
    # the same events come back over Kafka to the read-model consumer, which skips them
    await published(infra.kafka_bootstrap, pid, "CheckInCompleted", count=3)

    async def skipped() -> bool:
        return inbox.DUPLICATES.labels(group)._value.get() >= duplicates_before + 3

    await eventually(skipped, timeout=30)
    page = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=staff)).json()
    assert [e["data"]["check_in_id"] for e in page["entries"] if e["type"] == "CheckInCompleted"] == ids
    assert (await svc.client.get("/v1/overview", headers=supervisor)).json()["today"]["check_ins"] == 3
    caseload = await rt.pool.fetchrow("SELECT * FROM caseload WHERE participant_id = $1", pid)
    assert caseload is not None and caseload["consecutive_misses"] == 0


async def test_during_a_rebuild_check_ins_go_on_and_the_consumer_projects_them_after(svc):
    rt = svc.runtime
    staff, supervisor, pid = await _someone_in_a_new_agency(rt)
    url = f"/v1/participants/{pid}/timeline"

    async def check_ins_in_timeline() -> list[str]:
        page = (await svc.client.get(url, headers=staff)).json()
        return [e["data"]["check_in_id"] for e in page["entries"] if e["type"] == "CheckInCompleted"]

    async with rt.pool.acquire() as rebuilding, rebuilding.transaction():
        await rebuilding.execute("SELECT pg_advisory_xact_lock($1)", read_models.REBUILD_LOCK)
        r = await asyncio.wait_for(
            svc.client.post(f"/v1/participants/{pid}/check-ins", headers=staff, json={"craving": 2, "mood": 4}), 10
        )
        assert r.status_code == 201, r.text  # not held up by the rebuild
        assert await check_ins_in_timeline() == []  # left to the consumer
    check_in_id = r.json()["check_in_id"]

    async def projected() -> bool:
        return await check_ins_in_timeline() == [check_in_id]

    await eventually(projected, timeout=30)
    assert (await svc.client.get("/v1/overview", headers=supervisor)).json()["today"]["check_ins"] == 1


@pytest.mark.parametrize("batch_fails", [False, True], ids=["one batch", "batch failed, one by one"])
async def test_each_check_in_marks_its_own_idempotency_key_where_it_commits(svc, monkeypatch, batch_fails):
    """The writer runs outside the requests: each order carries its request's Idempotency-Key, and
    the transaction that commits the check-in marks it (the batch's, or the check-in's own when the
    batch failed). A refused order commits nothing and leaves its key unmarked."""
    from shared import idempotency

    rt = svc.runtime
    people = [uuid.uuid4() for _ in range(3)]
    for pid in people:
        await enrol_directly(rt, pid)
    orders = [_order(pid, 4) for pid in people] + [_order(uuid.uuid4(), 4)]  # the last: nobody
    keys = [(f"{AGENCY}/crs-1", str(uuid.uuid4())) for _ in orders]
    await rt.pool.executemany(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, body) VALUES ($1, $2, 'h', 0, ''::bytea)",
        keys)
    if batch_fails:
        async def broken(orders, uow):
            raise RuntimeError("the batch statement failed")

        monkeypatch.setattr(handlers, "record_check_ins", broken)
    async with _running_writer(rt) as writer:
        submitted = []
        for order, key in zip(orders, keys, strict=True):
            with idempotency.acting_for(key):  # as the middleware does for the request
                submitted.append(asyncio.ensure_future(writer.submit(order)))
        results = await asyncio.gather(*submitted, return_exceptions=True)
    assert [type(r) for r in results] == [CheckInRecorded] * 3 + [NotFound]
    statuses = [await rt.pool.fetchval("SELECT status FROM idempotency_keys WHERE scope = $1 AND key = $2", *k)
                for k in keys]
    assert statuses == [1, 1, 1, 0]
