"""Notifications' lists are paged with a maximum page size: the inbox and the webhook subscriptions."""

from __future__ import annotations

import pytest
from test_notifications_flow import Agency

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_webhook_subscriptions_are_paged(service):
    agency = await Agency(service).setup()
    for i in range(3):
        r = await service.client.post("/v1/webhook-subscriptions", headers=agency.admin_auth,
                                      json={"url": f"https://93.184.215.14/hook/{i}",
                                            "event_types": ["MilestoneReached"]})
        assert r.status_code == 201, r.text
    first = await service.client.get("/v1/webhook-subscriptions", params={"limit": 2}, headers=agency.admin_auth)
    assert len(first.json()["subscriptions"]) == 2 and first.json()["next_offset"] == 2
    rest = await service.client.get("/v1/webhook-subscriptions", params={"limit": 2, "offset": 2},
                                    headers=agency.admin_auth)
    assert len(rest.json()["subscriptions"]) == 1 and rest.json()["next_offset"] is None
    too_big = await service.client.get("/v1/webhook-subscriptions", params={"limit": 501}, headers=agency.admin_auth)
    assert too_big.status_code == 422


async def test_the_inbox_is_paged(service):
    agency = await Agency(service).setup()
    staff = agency.auth(agency.specialist, "specialist")
    page = await service.client.get("/v1/notifications", params={"limit": 2, "offset": 0}, headers=staff)
    assert page.status_code == 200 and page.json()["next_offset"] is None
    assert (await service.client.get("/v1/notifications", params={"limit": 501}, headers=staff)).status_code == 422
    assert (await service.client.get("/v1/notifications", params={"offset": -1}, headers=staff)).status_code == 422
