"""Reads the console's pages need from notifications: the agency's ladder (GET /v1/agency-staff)
and a participant's own contact preferences and quiet hours."""

from __future__ import annotations

import uuid

import pytest

from shared.testing.auth import bearer

pytestmark = pytest.mark.integration


async def test_the_agency_staff_are_read_back_by_supervisors_and_admins_of_that_agency_only(service):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    admin = bearer(sub="admin-1", agency_id=agency, roles=("agency_admin",))
    supervisor = bearer(sub="sup-1", agency_id=agency, roles=("supervisor",))

    empty = await service.client.get("/v1/agency-staff", headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"agency_id": agency, "supervisor_id": None, "agency_admin_id": None, "updated_at": None}

    r = await service.client.put("/v1/agency-staff", headers=admin,
                                 json={"supervisor_id": "sup-1", "agency_admin_id": "admin-1"})
    assert r.status_code == 204, r.text
    for who in (admin, supervisor):
        body = (await service.client.get("/v1/agency-staff", headers=who)).json()
        assert (body["supervisor_id"], body["agency_admin_id"]) == ("sup-1", "admin-1") and body["updated_at"]

    specialist = bearer(sub="crs-1", agency_id=agency, roles=("specialist",))
    assert (await service.client.get("/v1/agency-staff", headers=specialist)).status_code == 403
    elsewhere = bearer(sub="admin-9", agency_id=f"{agency}-other", roles=("agency_admin",))
    assert (await service.client.get("/v1/agency-staff", headers=elsewhere)).json()["supervisor_id"] is None


async def test_a_participant_sets_and_reads_their_own_quiet_hours_and_nobody_elses(service):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    me, other = str(uuid.uuid4()), str(uuid.uuid4())
    mine = bearer(sub=me, agency_id=agency, roles=("participant",))

    assert (await service.client.get(f"/v1/recipients/{me}/preferences", headers=mine)).status_code == 404
    r = await service.client.put(f"/v1/recipients/{me}/preferences", headers=mine, json={
        "email": "me@example.org", "channels": ["email"], "quiet_hours": "22:00-07:00", "time_zone": "Europe/Berlin",
    })
    assert r.status_code == 200, r.text
    back = (await service.client.get(f"/v1/recipients/{me}/preferences", headers=mine)).json()
    assert back["quiet_hours"] == "22:00-07:00" and back["time_zone"] == "Europe/Berlin"
    assert back["email"] == "me@example.org"

    assert (await service.client.get(f"/v1/recipients/{other}/preferences", headers=mine)).status_code == 403
    assert (await service.client.put(f"/v1/recipients/{other}/preferences", headers=mine,
                                     json={"quiet_hours": "20:00-08:00"})).status_code == 403
    same_id_elsewhere = bearer(sub=me, agency_id=f"{agency}-other", roles=("participant",))
    assert (await service.client.get(f"/v1/recipients/{me}/preferences", headers=same_id_elsewhere)).status_code == 404
