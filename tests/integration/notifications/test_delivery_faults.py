"""Notifications under faults (real Kafka, PostgreSQL and SMTP): a lease that runs out while a
send is in flight does not send it twice; a delivery that always crashes ends in
NotificationFailed; every try of a notification carries the same Message-ID."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from notifications_harness import running_notifications
from test_notifications_flow import Agency, enrol, now, store_events

from services.notifications.adapters.channels import build_email
from services.notifications.application import dispatch
from services.notifications.domain.messages import Message
from shared.catalogue.monitoring import HelpRequested
from shared.testing.kafka import eventually
from tests.integration.notifications.conftest import FAST

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def short_leases(kafka_bootstrap, database_url, mail):
    cfg = FAST.model_copy(update={"dispatch_lease_s": 1.5, "retry_max_attempts": 3, "retry_base_s": 0.2,
                                  "retry_cap_s": 0.5})
    async with running_notifications(kafka_bootstrap=kafka_bootstrap, database_url=database_url, cfg=cfg,
                                     relay_poll_interval_s=0.1) as svc:
        yield svc


async def _help_requested(service, upstream) -> tuple[Agency, uuid.UUID]:
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    await eventually(
        lambda: service.runtime.pool.fetchval("SELECT 1 FROM recipient_directory WHERE participant_id = $1", pid),
        timeout=15, message="the enrolment in the directory")
    await upstream.publish(HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
                           agency_id=agency.id, participant_id=pid)
    return agency, pid


async def test_a_lease_running_out_during_a_slow_send_does_not_send_twice(short_leases, upstream, mail,
                                                                          monkeypatch):
    real_attempt = dispatch.attempt
    tries: dict[uuid.UUID, int] = {}

    async def slow_attempt(row, *args):
        tries[row["notification_id"]] = tries.get(row["notification_id"], 0) + 1
        await asyncio.sleep(4.0)  # more than two leases
        return await real_attempt(row, *args)

    monkeypatch.setattr(dispatch, "attempt", slow_attempt)
    agency, pid = await _help_requested(short_leases, upstream)

    async def all_sent():
        rows = await short_leases.runtime.pool.fetch(
            "SELECT status FROM deliveries WHERE participant_id = $1", pid)
        return rows if rows and all(r["status"] == "sent" for r in rows) else None

    rows = await eventually(all_sent, timeout=25, message="the slow emails sent")
    ids = await short_leases.runtime.pool.fetch("SELECT notification_id FROM deliveries WHERE participant_id = $1",
                                                pid)
    assert [tries.get(r["notification_id"]) for r in ids] == [1] * len(rows)  # each sent once
    sent = [e for e in await store_events(short_leases, "NotificationSent", pid) if e["data"]["channel"] != "in_app"]
    assert len(sent) == len(rows)
    assert len(mail.to(agency.email(agency.specialist))) == 1


async def test_a_delivery_that_always_crashes_ends_in_notification_failed(short_leases, upstream, monkeypatch):
    async def crashing_attempt(row, *args):
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr(dispatch, "attempt", crashing_attempt)
    _, pid = await _help_requested(short_leases, upstream)

    async def all_failed():
        rows = await short_leases.runtime.pool.fetch(
            "SELECT status, attempts FROM deliveries WHERE participant_id = $1", pid)
        return rows if rows and all(r["status"] == "failed" for r in rows) else None

    rows = await eventually(all_failed, timeout=20, message="the crashing deliveries to end failed")
    assert {r["attempts"] for r in rows} == {3}
    failed = [e for e in await store_events(short_leases, "NotificationFailed", pid)
              if e["data"]["channel"] != "in_app"]
    assert len(failed) == len(rows)
    assert all("delivery-crashed" in (f["data"].get("reason") or "") for f in failed)


def test_every_try_of_a_notification_has_the_same_message_id():
    ref = str(uuid.uuid4())
    message = Message(subject="s", text="t", link="https://waypoint.example/x")
    first, again = (build_email("Waypoint <alerts@waypoint.example>", "a@b.test", message, ref) for _ in range(2))
    assert first["Message-ID"] == again["Message-ID"] == f"<notification.{ref}@waypoint.example>"
    other = build_email("alerts@waypoint.example", "a@b.test", message, str(uuid.uuid4()))
    assert other["Message-ID"] != first["Message-ID"]
