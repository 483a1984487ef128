"""Idempotency-Key on the services' creating POSTs, on real PostgreSQL and Kafka: a retry gets the
first response and creates nothing more; the key reused for another request is a 422."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.testing.auth import bearer
from shared.testing.services import running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap, database_url):
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc:
        yield svc


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


async def _participants(intake, agency: str) -> int:
    return await intake.runtime.pool.fetchval("SELECT count(*) FROM participants WHERE agency_id = $1", agency)


async def test_a_retried_enrolment_returns_the_first_response_and_enrols_once(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    headers = {**bearer(agency_id=agency), **_key()}
    body = {"display_name": "Robin", "specialist_id": "s-1"}
    first = await intake.client.post("/v1/participants", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = await intake.client.post("/v1/participants", headers=headers, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers.get("location") == first.headers.get("location")
    assert again.headers["idempotent-replayed"] == "true"
    assert await _participants(intake, agency) == 1


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    headers = {**bearer(agency_id=agency), **_key()}
    assert (await intake.client.post("/v1/participants", headers=headers,
                                     json={"display_name": "Robin", "specialist_id": "s-1"})).status_code == 201
    other = await intake.client.post("/v1/participants", headers=headers,
                                     json={"display_name": "Sam", "specialist_id": "s-1"})
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await _participants(intake, agency) == 1


async def test_keys_are_scoped_by_agency_and_caller(intake):
    key = _key()
    body = {"display_name": "Robin", "specialist_id": "s-1"}
    agencies = [f"agency-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    responses = [
        await intake.client.post("/v1/participants", headers={**bearer(sub=sub, agency_id=agency), **key}, json=body)
        for agency in agencies for sub in ("crs-1", "crs-2")
    ]
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["participant_id"] for r in responses}) == 4
    assert all("idempotent-replayed" not in r.headers for r in responses)


async def test_concurrent_copies_of_one_request_enrol_once(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    headers = {**bearer(agency_id=agency), **_key()}
    body = {"display_name": "Robin", "specialist_id": "s-1"}
    responses = await asyncio.gather(
        *(intake.client.post("/v1/participants", headers=headers, json=body) for _ in range(5))
    )
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({r.json()["participant_id"] for r in responses if r.status_code == 201}) == 1
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 409)
    assert await _participants(intake, agency) == 1


async def test_a_malformed_key_is_400_and_no_key_means_no_replay(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    body = {"display_name": "Robin", "specialist_id": "s-1"}
    bad = await intake.client.post("/v1/participants", headers={**bearer(agency_id=agency),
                                                                "Idempotency-Key": '"' + "k" * 300 + '"'}, json=body)
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-idempotency-key")
    for _ in range(2):
        assert (await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                         json=body)).status_code == 201
    assert await _participants(intake, agency) == 2


async def test_a_retried_check_in_is_recorded_once(kafka_bootstrap, database_url):
    from tests.integration.monitoring.helpers import STAFF, enrol_directly

    pid = uuid.uuid4()
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc:
        await enrol_directly(svc.runtime, pid)
        headers = {**STAFF, **_key()}
        responses = [await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=headers,
                                           json={"craving": 2, "mood": 4}) for _ in range(2)]
        assert [r.status_code for r in responses] == [201, 201], responses[0].text
        assert responses[0].json() == responses[1].json()
        count = await svc.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'CheckInCompleted' AND participant_id = $1", pid)
        assert count == 1


async def test_a_retried_plan_draft_gets_its_201_not_a_conflict(kafka_bootstrap, database_url):
    from datetime import UTC, datetime

    from shared.catalogue.intake import ParticipantEnrolled
    from shared.testing.kafka import eventually
    from tests.integration.planning.planning_support import AGENCY, publish

    async with running_service("planning", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1) as svc:
        pid = uuid.uuid4()
        await publish(kafka_bootstrap, "intake", ParticipantEnrolled(participant_id=pid, enrolled_at=datetime.now(UTC)))
        await eventually(
            lambda: svc.runtime.pool.fetchval("SELECT 1 FROM planning_participants WHERE participant_id = $1", pid),
            message="the enrolment to reach planning")
        headers = {**bearer(sub="specialist-api", agency_id=AGENCY), **_key()}
        first = await svc.client.post(f"/v1/participants/{pid}/plan", headers=headers, json={"sections": {}})
        assert first.status_code == 201, first.text
        written = len(await svc.runtime.store.read_stream(f"plan-{pid}"))
        again = await svc.client.post(f"/v1/participants/{pid}/plan", headers=headers, json={"sections": {}})
        assert (again.status_code, again.json()) == (201, first.json())
        assert len(await svc.runtime.store.read_stream(f"plan-{pid}")) == written


BODY = b'{"display_name": "Robin", "specialist_id": "s-1"}'


async def _stale_claim(intake, agency: str, key: str, status: int) -> None:
    """A claim left by a process that died: its command never committed (0) or did (1)."""
    from shared.idempotency import request_hash

    await intake.runtime.pool.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)"
        " VALUES ($1, $2, $3, $4, ''::bytea, now() - interval '5 minutes')",
        f"{agency}/specialist-1", key, request_hash("POST", "/v1/participants", b"", BODY), status,
    )


async def test_a_claim_whose_command_never_committed_is_taken_over_after_its_lease(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    key = str(uuid.uuid4())
    await _stale_claim(intake, agency, key, 0)
    r = await intake.client.post("/v1/participants", content=BODY, headers={
        **bearer(agency_id=agency), "Idempotency-Key": key, "content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert await _participants(intake, agency) == 1


async def test_a_claim_whose_command_committed_is_never_run_again(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    key = str(uuid.uuid4())
    await _stale_claim(intake, agency, key, 1)
    r = await intake.client.post("/v1/participants", content=BODY, headers={
        **bearer(agency_id=agency), "Idempotency-Key": key, "content-type": "application/json"})
    assert r.status_code == 409 and r.headers["retry-after"]
    assert await _participants(intake, agency) == 0


async def test_the_command_marks_its_key_in_its_own_transaction(intake):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    key = str(uuid.uuid4())
    seen = []
    from shared import idempotency

    real = idempotency.mark_committed

    async def spy(conn):
        await real(conn)
        seen.append(await conn.fetchval("SELECT status FROM idempotency_keys WHERE key = $1", key))

    idempotency.mark_committed = spy
    try:
        r = await intake.client.post("/v1/participants", headers={**bearer(agency_id=agency), "Idempotency-Key": key},
                                     json={"display_name": "Robin", "specialist_id": "s-1"})
    finally:
        idempotency.mark_committed = real
    assert r.status_code == 201
    assert seen and set(seen) == {1}  # marked inside the command's transaction, before its commit


async def test_a_check_in_committed_by_the_batch_writer_is_never_recorded_again_for_its_key(kafka_bootstrap,
                                                                                            database_url):
    """Monitoring's group-commit writer records check-ins in a task of its own, outside the
    request: it must still mark the request's key in the transaction that commits the check-in.
    Here the process fails after that commit and before anyone is answered (a fault point armed
    to raise): the key must not be released, so the client's retries record nothing more."""
    import httpx

    from shared import faults
    from tests.integration.monitoring.helpers import STAFF, enrol_directly

    point = "monitoring.check_ins.after_commit"
    pid = uuid.uuid4()
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc:
        await enrol_directly(svc.runtime, pid)
        headers = {**STAFF, **_key()}
        body = {"craving": 2, "mood": 4}
        transport = httpx.ASGITransport(app=svc.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://monitoring") as client:
            faults.arm(point, RuntimeError("failed after the commit, before answering"))
            try:
                lost = await client.post(f"/v1/participants/{pid}/check-ins", headers=headers, json=body)
            finally:
                faults.disarm(point)
            assert lost.status_code == 500
            retries = [await client.post(f"/v1/participants/{pid}/check-ins", headers=headers, json=body)
                       for _ in range(2)]
        count = await svc.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'CheckInCompleted' AND participant_id = $1", pid)
        assert count == 1  # committed once, before the failure
        assert [r.status_code for r in retries] == [500, 500]  # the first answer, replayed: no second check-in
        assert all(r.headers.get("idempotent-replayed") == "true" for r in retries)


async def test_concurrent_check_ins_written_in_one_batch_each_keep_their_own_key(kafka_bootstrap, database_url):
    from tests.integration.monitoring.helpers import STAFF, enrol_directly

    pids = [uuid.uuid4() for _ in range(6)]
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc:
        for pid in pids:
            await enrol_directly(svc.runtime, pid)
        keys = [_key() for _ in pids]

        async def check_in(pid, key):
            return await svc.client.post(f"/v1/participants/{pid}/check-ins", headers={**STAFF, **key},
                                         json={"craving": 3, "mood": 3})

        first = await asyncio.gather(*(check_in(p, k) for p, k in zip(pids, keys, strict=True)))
        again = await asyncio.gather(*(check_in(p, k) for p, k in zip(pids, keys, strict=True)))
        assert [r.status_code for r in first] == [201] * len(pids)
        assert [r.json() for r in again] == [r.json() for r in first]
        assert all(r.headers.get("idempotent-replayed") == "true" for r in again)
        count = await svc.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'CheckInCompleted' AND participant_id = ANY($1::uuid[])",
            pids)
        assert count == len(pids)
