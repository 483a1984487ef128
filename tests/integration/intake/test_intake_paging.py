"""Every list is paged with a maximum page size: participants, the assignment queue, the access log."""

import pytest
from intake_http import Agency

from shared.testing.auth import bearer

pytestmark = pytest.mark.integration


async def _enrol(agency: Agency, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = await agency.post("/v1/participants", {"display_name": f"P{i}"})  # no specialist: waits in the queue
        assert r.status_code == 201, r.text
        ids.append(r.json()["participant_id"])
    return ids


@pytest.mark.parametrize("path", ["/v1/participants", "/v1/assignment-queue"])
async def test_lists_are_paged_and_the_page_size_is_bounded(intake, path):
    agency = Agency(intake.client, roles=("specialist", "supervisor"))
    ids = await _enrol(agency, 3)
    key = "participants" if path == "/v1/participants" else "waiting"
    first = await agency.get(path, limit=2)
    assert first.status_code == 200 and first.json()["next_offset"] == 2
    second = await agency.get(path, limit=2, offset=2)
    assert second.json()["next_offset"] is None
    seen = [p["participant_id"] for p in first.json()[key] + second.json()[key]]
    assert sorted(seen) == sorted(ids)
    for bad in ({"limit": 501}, {"limit": 0}, {"offset": -1}):
        assert (await agency.get(path, **bad)).status_code == 422


async def test_the_access_log_is_paged(intake):
    agency = Agency(intake.client, roles=("specialist",))
    [pid] = await _enrol(agency, 1)
    for _ in range(3):
        await agency.get(f"/v1/participants/{pid}")
    admin = bearer(sub="admin", agency_id=agency.id, roles=("agency_admin",))
    page = await intake.client.get(f"/v1/participants/{pid}/access-log", params={"limit": 2}, headers=admin)
    assert page.status_code == 200 and len(page.json()["access_log"]) == 2 and page.json()["next_offset"] == 2
    too_big = await intake.client.get(f"/v1/participants/{pid}/access-log", params={"limit": 501}, headers=admin)
    assert too_big.status_code == 422
