"""Bad input answers with 4xx problem details and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from shared.testing.auth import bearer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def admin(agency: str) -> dict[str, str]:
    return bearer(sub=f"admin-{agency}", agency_id=agency, roles=("agency_admin",))


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://partner.example/hook", "event_types": ["ReferralRequested"]},
        {"url": "partner.example/hook", "event_types": ["ReferralRequested"]},
        {"url": "https://partner.example/hook", "event_types": ["NoSuchEvent"]},
        {"url": "https://partner.example/hook", "event_types": []},
    ],
)
async def test_a_bad_subscription_is_refused_and_nothing_is_stored(service, body):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    r = await service.client.post("/v1/webhook-subscriptions", headers=admin(agency), json=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"]
    listed = await service.client.get("/v1/webhook-subscriptions", headers=admin(agency))
    assert listed.json()["subscriptions"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours": "after dinner"}, "quiet_hours"),
        ({"quiet_hours": "22:00-07:00", "time_zone": "Atlantis/Capital"}, "time_zone"),
        ({"email": "nobody"}, "email"),
    ],
)
async def test_preferences_that_do_not_parse_are_refused_and_the_old_ones_stay(service, body, field):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    ok = await service.client.put(
        "/v1/recipients/spec-1/preferences",
        headers=admin(agency),
        json={"email": "spec@x.test", "quiet_hours": "22:00-06:00"},
    )
    assert ok.status_code == 200
    r = await service.client.put("/v1/recipients/spec-1/preferences", headers=admin(agency), json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}
    kept = await service.client.get("/v1/recipients/spec-1/preferences", headers=admin(agency))
    assert (kept.json()["email"], kept.json()["quiet_hours"]) == ("spec@x.test", "22:00-06:00")


async def test_acknowledging_an_unknown_or_foreign_alert_is_not_found(service):
    r = await service.client.post(f"/v1/alerts/{uuid.uuid4()}/acknowledge", headers=admin("agency-x"))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_a_participant_may_not_read_the_staff_inbox_or_set_someone_elses_preferences(service):
    participant = bearer(sub="p-1", agency_id="agency-x", roles=("participant",))
    assert (await service.client.get("/v1/notifications", headers=participant)).status_code == 403
    r = await service.client.put("/v1/recipients/p-2/preferences", headers=participant, json={"email": "a@b.test"})
    assert r.status_code == 403
    own = await service.client.put("/v1/recipients/p-1/preferences", headers=participant, json={"email": "a@b.test"})
    assert own.status_code == 200
