"""Webhook URLs cannot reach into our own network (SSRF): refused at subscription and at send time;
failure reasons entering events are a code and a generic text (no address, host or banner)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from test_notifications_flow import Agency, enrol, store_events

from shared.catalogue.monitoring import MilestoneReached
from shared.testing.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("url", [
    "http://127.0.0.2:8080/hook",  # loopback outside the tests' allowlist (127.0.0.1/32)
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.3]/hook",  # IPv4 wrapped in IPv6
    "http://10.0.0.7/hook",
    "http://192.168.1.20/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.100.100.200/latest/meta-data/",  # metadata in the shared (CGNAT) range
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://no-such-host.invalid/hook",
])
async def test_a_webhook_into_our_own_network_is_refused_at_subscription(service, url):
    agency = await Agency(service).setup()
    r = await service.client.post("/v1/webhook-subscriptions", headers=agency.admin_auth,
                                  json={"url": url, "event_types": ["MilestoneReached"]})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"
    listed = await service.client.get("/v1/webhook-subscriptions", headers=agency.admin_auth)
    assert listed.json()["subscriptions"] == []


async def test_a_webhook_whose_address_changed_to_metadata_is_not_called_at_send_time(service, upstream, receiver):
    agency = await Agency(service).setup()
    path = f"/moved/{agency.id}"
    r = await service.client.post("/v1/webhook-subscriptions", headers=agency.admin_auth,
                                  json={"url": receiver.url(path), "event_types": ["MilestoneReached"]})
    assert r.status_code == 201, r.text
    # The host now resolves elsewhere (here: the stored URL changes; DNS would do the same).
    await service.runtime.pool.execute(
        "UPDATE webhook_subscriptions SET url = 'http://169.254.169.254/latest/meta-data/' "
        "WHERE subscription_id = $1", uuid.UUID(r.json()["subscription_id"]))
    pid = await enrol(upstream, agency)
    await upstream.publish(
        MilestoneReached(participant_id=pid, milestone="30 days", days=30, reached_on=date.today(),
                         counted_from=date.today() - timedelta(days=30)),
        agency_id=agency.id, participant_id=pid,
    )

    async def failed():
        events = await store_events(service, "NotificationFailed", pid)
        return [e for e in events if e["data"]["channel"] == "webhook"] or None

    [event] = await eventually(failed, timeout=20, message="the refused webhook's NotificationFailed")
    assert event["data"]["reason"] == "egress-refused: the endpoint's address is not allowed"
    assert receiver.to(path) == []


async def test_a_failed_webhook_reason_is_a_code_without_the_host(service, upstream):
    agency = await Agency(service).setup()
    # 127.0.0.1 is allowed in the tests; port 9 (discard) is closed: the connection is refused.
    r = await service.client.post("/v1/webhook-subscriptions", headers=agency.admin_auth,
                                  json={"url": "http://127.0.0.1:9/secret-partner-path",
                                        "event_types": ["MilestoneReached"]})
    assert r.status_code == 201, r.text
    pid = await enrol(upstream, agency)
    await upstream.publish(
        MilestoneReached(participant_id=pid, milestone="30 days", days=30, reached_on=date.today(),
                         counted_from=date.today() - timedelta(days=30)),
        agency_id=agency.id, participant_id=pid,
    )

    async def attempts():
        return await store_events(service, "DeliveryAttemptFailed", pid) or None

    [first, *_] = await eventually(attempts, timeout=20, message="a failed webhook attempt")
    assert first["data"]["reason"] == "webhook-unreachable: the endpoint could not be reached"
