"""The integrator examples (examples/) run as their own processes against the real system."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from shared.tenancy import system_scope
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import running_service

from .feed_support import Publisher, example_process, json_lines_until, port, sample

pytestmark = [pytest.mark.integration]


def signed(secret: str, body: bytes, at: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Waypoint-Timestamp": str(at), "Waypoint-Signature": f"v1={digest}", "Waypoint-Delivery-Id": "forged",
            "Content-Type": "application/json"}


async def test_the_webhook_receiver_accepts_waypoints_signed_deliveries_and_refuses_forgeries(
        kafka_bootstrap, database_url, monkeypatch):
    # the receiver runs on this machine, as an on-premises partner's would on an allowed network
    monkeypatch.setenv("NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    agency, pid = f"agency-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    hook = f"http://127.0.0.1:{port(20)}/waypoint"
    async with running_service("notifications", kafka_bootstrap=kafka_bootstrap,
                               database_url=database_url) as notifications:
        r = await notifications.client.post("/v1/webhook-subscriptions",
                                            headers=bearer("admin-1", agency, ("agency_admin",)),
                                            json={"url": hook, "event_types": ["MilestoneReached"]})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        async with example_process("webhook_receiver.py", {"WAYPOINT_WEBHOOK_SECRET": secret,
                                                           "PORT": str(port(20))}) as receiver:
            assert b"listening" in await receiver.stderr.readline()
            async with Publisher(kafka_bootstrap) as upstream:
                await upstream.publish(sample("ParticipantEnrolled", participant_id=str(pid),
                                              enrolled_at=datetime.now(UTC).isoformat()),
                                       agency_id=agency, participant_id=pid)

                async def known():  # enrolment and milestones travel on different topics: no order between them
                    with system_scope():
                        return await notifications.runtime.pool.fetchval(
                            "SELECT 1 FROM recipient_directory WHERE participant_id = $1", pid)

                await eventually(known, timeout=60, message="the enrolment in notifications' directory")
                milestone = await upstream.publish(sample("MilestoneReached", participant_id=str(pid), days=30),
                                                   agency_id=agency, participant_id=pid)
            (delivery,) = await json_lines_until(receiver, lambda lines: len(lines) >= 1)
            assert delivery["event_type"] == "MilestoneReached"
            assert delivery["payload"]["event"]["id"] == str(milestone)
            async with httpx.AsyncClient(timeout=10) as client:
                body = b'{"event": {"id": "made-up"}}'
                assert (await client.post(hook, content=body, headers=signed("wrong", body, int(time.time())))
                        ).status_code == 401
                stale = int(time.time()) - 3600
                assert (await client.post(hook, content=body, headers=signed(secret, body, stale))).status_code == 401
                tampered = signed(secret, body, int(time.time()))
                assert (await client.post(hook, content=body + b" ", headers=tampered)).status_code == 401
                assert (await client.post(hook, content=body, headers=tampered)).status_code == 200  # the real thing
