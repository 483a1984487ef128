"""SIGKILL of a service process at its risky moments (real processes, Kafka and PostgreSQL): after
the command's commit before anything is sent; after Kafka acknowledged before the outbox rows are
deleted; after a consumer's commit before its offsets; after the SMTP server accepted an email
before the dispatcher recorded it. The process kills itself at the named point (``WAYPOINT_FAULT``,
shared/faults.py), is started again, and each effect happens exactly once; the email, by design,
at least once: see the last test."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

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


def _spawn(service: str, infra, dsn: str, fault: str | None, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap, "DATABASE_URL": infra.database_url,
           f"{service.upper()}_DATABASE_URL": dsn, "HTTP_PORT": str(PORT), "LOG_JSON": "false",
           "RELAY_POLL_INTERVAL_S": "0.1", "HTTP_WORKERS": "1", **extra}
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


async def test_notifications_killed_after_the_smtp_send_sends_that_email_again_with_its_message_id(
        infra, fresh_database):
    """The chosen outcome for a crash between the SMTP server's acceptance and the record of it:
    at least once. After the restart the lease runs out and the very same email (same Message-ID,
    same X-Waypoint-Notification) is sent again; the notification is recorded as sent once; every
    other email goes exactly once. A lost alert about someone at risk of relapse costs more than a
    copy a mail system or a reader recognises as the same message (docs/architecture.md, Faults)."""
    from services.notifications.adapters.channels import message_id
    from shared.catalogue.intake import ParticipantEnrolled
    from shared.catalogue.monitoring import HelpRequested
    from tests.integration.notifications.notifications_harness import Upstream, smtp_server

    agency = f"agency-{uuid.uuid4().hex[:6]}"
    staff = {"specialist": f"spec-{agency}", "supervisor": f"sup-{agency}", "agency_admin": f"admin-{agency}"}
    dsn = fresh_database("sk_notifications")
    sender = "Waypoint <alerts@waypoint.test>"
    knobs = {"NOTIFICATIONS_SMTP_PORT": str(BASE + 62), "NOTIFICATIONS_SMTP_SENDER": sender,
             "NOTIFICATIONS_DISPATCH_LEASE_S": "2", "NOTIFICATIONS_DISPATCH_POLL_S": "0.2",
             "NOTIFICATIONS_DISPATCH_CONCURRENCY": "1"}  # one send in flight: exactly one is cut short
    upstream = Upstream(infra.kafka_bootstrap)
    await upstream.start()
    with smtp_server(BASE + 62) as mail:
        proc = _spawn("notifications", infra, dsn, "notifications.after_send_before_record", **knobs)
        try:
            url = await _ready(proc)
            admin = bearer(sub=staff["agency_admin"], agency_id=agency, roles=("agency_admin",))
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                r = await client.put("/v1/agency-staff", headers=admin, json={
                    "supervisor_id": staff["supervisor"], "agency_admin_id": staff["agency_admin"]})
                assert r.status_code == 204, r.text
                for who in staff.values():
                    r = await client.put(f"/v1/recipients/{who}/preferences", headers=admin,
                                         json={"email": f"{who}@{agency}.test"})
                    assert r.status_code == 200, r.text
            pid = uuid.uuid4()
            await upstream.publish(ParticipantEnrolled(participant_id=pid, specialist_id=staff["specialist"],
                                                       enrolled_at=datetime.now(UTC)),
                                   agency_id=agency, participant_id=pid)
            await eventually(lambda: _count(dsn, "SELECT count(*) FROM recipient_directory WHERE participant_id = $1",
                                            pid), timeout=30, message="the enrolment in the directory")
            await upstream.publish(HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(),
                                                 requested_at=datetime.now(UTC)), agency_id=agency, participant_id=pid)
            assert await _died(proc) == -9, "the process was to kill itself right after an accepted send"
            [cut_short] = [str(m.message["X-Waypoint-Notification"]) for m in mail.mails]
            unrecorded = "SELECT count(*) FROM deliveries WHERE notification_id = $1 AND status = 'pending'"
            assert await _count(dsn, unrecorded, uuid.UUID(cut_short)) == 1  # sent, but not recorded

            proc = _spawn("notifications", infra, dsn, None, **knobs)
            await _ready(proc)
            emails = "SELECT count(*) FROM deliveries WHERE participant_id = $1 AND channel = 'email'"
            sent = emails + " AND status = 'sent'"
            await eventually(lambda: _both_equal(dsn, emails, sent, pid), timeout=45,
                             message="every email sent after the restart")
            ids = [str(r) for r in await _ids(dsn, pid)]
            assert cut_short in ids
            by_id: dict[str, list[str]] = {}
            for m in mail.mails:
                by_id.setdefault(str(m.message["X-Waypoint-Notification"]), []).append(str(m.message["Message-ID"]))
            assert set(by_id) == set(ids)
            assert by_id[cut_short] == [message_id(cut_short, sender)] * 2  # the same message, once more
            assert all(by_id[i] == [message_id(i, sender)] for i in ids if i != cut_short)  # the others once
            recorded = ("SELECT count(*) FROM events WHERE event_type = 'NotificationSent'"
                        " AND data->>'notification_id' = $1")
            assert await _count(dsn, recorded, cut_short) == 1
        finally:
            _stop(proc)
            await upstream.stop()


async def _both_equal(dsn: str, first: str, second: str, *args) -> bool:
    one, two = await _count(dsn, first, *args), await _count(dsn, second, *args)
    return one > 0 and one == two


async def _ids(dsn: str, pid: uuid.UUID) -> list[uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["notification_id"] for r in await conn.fetch(
            "SELECT notification_id FROM deliveries WHERE participant_id = $1 AND channel = 'email'", pid)]
    finally:
        await conn.close()
