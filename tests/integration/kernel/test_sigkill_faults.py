"""SIGKILL of a service process at its risky moments (real processes, Kafka and PostgreSQL): after
the command's commit before anything is sent; after Kafka acknowledged before the outbox rows are
deleted; after a consumer's commit before its offsets. The process kills itself at the named point
(``WAYPOINT_FAULT``, shared/faults.py), is started again, and each effect happens exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import collect, eventually, header
from shared.testing.services import running_service
from tests.conftest import REPO_ROOT, TEST_STATE_DIR

pytestmark = [pytest.mark.integration]

BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
PORT = BASE + 60


def _spawn(service: str, infra, dsn: str, fault: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap, "DATABASE_URL": infra.database_url,
           f"{service.upper()}_DATABASE_URL": dsn, "HTTP_PORT": str(PORT), "LOG_JSON": "false",
           "RELAY_POLL_INTERVAL_S": "0.1", "HTTP_WORKERS": "1"}
    env.pop("WAYPOINT_FAULT", None)
    if fault:
        env["WAYPOINT_FAULT"] = fault
    log = (TEST_STATE_DIR / f"sigkill-{service}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", f"services.{service}"], cwd=REPO_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


async def _ready(proc: subprocess.Popen[bytes]) -> str:
    url = f"http://127.0.0.1:{PORT}"

    async def kafka_bound_ready():
        assert proc.poll() is None, f"the service exited ({proc.returncode}) while starting"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{url}/health/ready/kafka")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(kafka_bound_ready, timeout=60, interval=0.2, message="the service process to be ready")
    return url


async def _died(proc: subprocess.Popen[bytes]) -> int:
    return await asyncio.wait_for(asyncio.to_thread(proc.wait), 30)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def _count(dsn: str, sql: str, *args) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _enrol(url: str, agency: str) -> str | None:
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            response = await client.post(f"{url}/v1/participants", headers=bearer(agency_id=agency),
                                         json={"display_name": "Robin", "specialist_id": "s-1"})
        except httpx.HTTPError:
            return None  # the process died before answering
        assert response.status_code == 201, response.text
        return response.json()["participant_id"]


@pytest.mark.parametrize("point", ["uow.after_commit", "outbox.after_send_before_delete"])
async def test_intake_killed_around_publishing_loses_and_duplicates_no_enrolment(infra, fresh_database, point):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    dsn = fresh_database("sk_intake")
    async with running_service("monitoring", kafka_bootstrap=infra.kafka_bootstrap,
                               database_url=infra.database_url, relay_poll_interval_s=0.1) as monitoring:
        proc = _spawn("intake", infra, dsn, point)
        try:
            url = await _ready(proc)
            await _enrol(url, agency)
            assert await _died(proc) == -9, "the process was to kill itself at the fault point"
            [pid] = [str(r) for r in await _participants(dsn, agency)]  # the command committed
            assert await _count(dsn, "SELECT count(*) FROM outbox") == 1  # its event not yet deleted

            proc = _spawn("intake", infra, dsn, None)
            await _ready(proc)
            await eventually(lambda: _count(dsn, "SELECT count(*) = 0 FROM outbox"), timeout=30,
                             message="the restarted relay to send the event")

            async def monitored():
                return await monitoring.runtime.pool.fetchval(
                    "SELECT count(*) FROM events WHERE event_type = 'MonitoringStarted' AND participant_id = $1",
                    uuid.UUID(pid))

            await eventually(monitored, timeout=30, message="monitoring to start once")
            copies = await collect(infra.kafka_bootstrap, "waypoint.intake.v1",
                                   lambda r: header(r, "ce_subject") == pid, count=1, timeout=10)
            expected = 2 if point == "outbox.after_send_before_delete" else 1  # sent before the kill
            assert len(copies) == expected and len({header(r, "ce_id") for r in copies}) == 1
            assert await monitored() == 1  # the consumer's inbox absorbed the copy
        finally:
            _stop(proc)


async def _participants(dsn: str, agency: str) -> list[uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["participant_id"] for r in
                await conn.fetch("SELECT participant_id FROM participants WHERE agency_id = $1", agency)]
    finally:
        await conn.close()


async def test_monitoring_killed_after_its_commit_before_the_offsets_starts_monitoring_once(infra, fresh_database):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    dsn = fresh_database("sk_monitoring")
    async with running_service("intake", kafka_bootstrap=infra.kafka_bootstrap, database_url=infra.database_url,
                               relay_poll_interval_s=0.1) as intake:
        # Drain the consumer groups' backlog from earlier tests first (in-process, same groups), so
        # the batch the fault process dies after is, most likely, this enrolment's.
        async with running_service("monitoring", kafka_bootstrap=infra.kafka_bootstrap,
                                   database_url=infra.database_url) as drain:
            warm = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                            json={"display_name": "Warm", "specialist_id": "s-1"})
            warm_pid = uuid.UUID(warm.json()["participant_id"])
            await eventually(lambda: drain.runtime.pool.fetchval(
                "SELECT 1 FROM monitored_participants WHERE participant_id = $1", warm_pid), timeout=45,
                message="the backlog drained")
        proc = _spawn("monitoring", infra, dsn, "inbox.after_commit_before_offsets")
        try:
            await _ready(proc)
            first = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                             json={"display_name": "Robin", "specialist_id": "s-1"})
            assert first.status_code == 201, first.text
            pid = uuid.UUID(first.json()["participant_id"])
            assert await _died(proc) == -9, "the process was to kill itself at the fault point"
            started = "SELECT count(*) FROM events WHERE event_type = 'MonitoringStarted' AND participant_id = $1"
            # Committed before the kill if this enrolment's batch was the one the process died after.
            assert await _count(dsn, started, pid) in (0, 1)

            proc = _spawn("monitoring", infra, dsn, None)
            await _ready(proc)
            marker = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                              json={"display_name": "Sam", "specialist_id": "s-1"})
            marker_pid = uuid.UUID(marker.json()["participant_id"])
            await eventually(lambda: _count(dsn, started, marker_pid), timeout=45,
                             message="the restarted consumer to get past the redelivered record")
            assert await _count(dsn, started, pid) == 1  # redelivered, and the inbox made it a no-op
        finally:
            _stop(proc)
