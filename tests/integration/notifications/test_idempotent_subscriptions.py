"""Idempotency-Key in notifications: a retried webhook subscription is created once and gets the
first response (its secret included) again (real PostgreSQL and Kafka)."""

from __future__ import annotations

import uuid

import pytest

from shared.testing.auth import bearer

pytestmark = pytest.mark.integration


async def test_a_retried_subscription_is_created_once(service, receiver):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    headers = {**bearer(sub="admin-1", agency_id=agency, roles=("agency_admin",)),
               "Idempotency-Key": f'"{uuid.uuid4()}"'}
    body = {"url": receiver.url("/hook"), "event_types": ["MilestoneReached"]}
    first = await service.client.post("/v1/webhook-subscriptions", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = await service.client.post("/v1/webhook-subscriptions", headers=headers, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    listed = await service.client.get("/v1/webhook-subscriptions", headers=headers)
    assert len(listed.json()["subscriptions"]) == 1
