"""Reads the console's pages need from notifications: the agency's ladder (GET /v1/agency-staff)
and a participant's own contact preferences and quiet hours."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.catalogue.intake import ParticipantEnrolled
from shared.catalogue.monitoring import HelpRequested
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

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


async def test_supervisors_see_the_agency_open_alerts_newest_first_and_paged(service, upstream):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    admin = bearer(sub="admin-1", agency_id=agency, roles=("agency_admin",))
    supervisor = bearer(sub="sup-1", agency_id=agency, roles=("supervisor",))
    r = await service.client.put("/v1/agency-staff", headers=admin,
                                 json={"supervisor_id": "sup-1", "agency_admin_id": "admin-1"})
    assert r.status_code == 204, r.text
    people = [uuid.uuid4(), uuid.uuid4()]
    for pid in people:
        await upstream.publish(
            ParticipantEnrolled(participant_id=pid, specialist_id="crs-1", enrolled_at=datetime.now(UTC)),
            agency_id=agency, participant_id=pid,
        )

    async def in_directory():  # enrolment and help requests travel on different topics: no order
        known = await service.runtime.pool.fetchval(
            "SELECT count(*) FROM recipient_directory WHERE participant_id = ANY($1::uuid[])", people
        )
        return known == len(people)

    await eventually(in_directory, timeout=30, message="both participants in the directory")
    for pid in people:
        await upstream.publish(
            HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=datetime.now(UTC)),
            agency_id=agency, participant_id=pid,
        )

    async def four_open():  # each help request alerts the specialist and the supervisor
        body = (await service.client.get("/v1/alerts", headers=supervisor)).json()
        return body["alerts"] if len(body["alerts"]) == 4 else None

    alerts = await eventually(four_open, timeout=30, message="four open alerts")
    assert {a["participant_id"] for a in alerts} == {str(p) for p in people}
    assert all(a["urgent"] and a["rule"] == "help-requested" and a["acknowledged_at"] is None for a in alerts)
    assert [a["raised_at"] for a in alerts] == sorted((a["raised_at"] for a in alerts), reverse=True)

    assert all(a["recipient_id"] in a["addressed_to"] for a in alerts)
    mine = alerts[0]
    addressee = bearer(sub=mine["recipient_id"], agency_id=agency, roles=(mine["recipient_role"],))
    acked = await service.client.post(f"/v1/alerts/{mine['alert_id']}/acknowledge", headers=addressee)
    assert acked.status_code == 200, acked.text
    still_open = (await service.client.get("/v1/alerts", headers=supervisor)).json()["alerts"]
    assert [a["alert_id"] for a in still_open] == [a["alert_id"] for a in alerts[1:]]
    everything = (await service.client.get("/v1/alerts", headers=admin, params={"open": "false"})).json()["alerts"]
    [acknowledged] = [a for a in everything if a["alert_id"] == mine["alert_id"]]
    assert acknowledged["acknowledged_by"] == mine["recipient_id"] and acknowledged["acknowledged_at"]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "open": "false", **({"before": cursor} if cursor else {})}
        page = (await service.client.get("/v1/alerts", headers=supervisor, params=params)).json()
        seen += [a["alert_id"] for a in page["alerts"]]
        cursor = page["next_before"]
        if cursor is None:
            break
    assert seen == [a["alert_id"] for a in everything] and len(seen) == 4

    log = (await service.client.get(f"/v1/participants/{people[0]}/access-log", headers=admin)).json()
    assert {"actor": "sup-1", "action": "read agency alerts"} in [
        {"actor": e["actor"], "action": e["action"]} for e in log["access_log"]
    ]
    outsider = bearer(sub="admin-9", agency_id=f"{agency}-other", roles=("agency_admin",))
    assert (await service.client.get(f"/v1/participants/{people[0]}/access-log", headers=outsider)).json()[
        "access_log"
    ] == []

    specialist = bearer(sub="crs-1", agency_id=agency, roles=("specialist",))
    assert (await service.client.get("/v1/alerts", headers=specialist)).status_code == 403
    assert (await service.client.get(f"/v1/participants/{people[0]}/access-log", headers=specialist)).status_code == 403
    elsewhere = bearer(sub="sup-9", agency_id=f"{agency}-other", roles=("supervisor",))
    assert (await service.client.get("/v1/alerts", headers=elsewhere, params={"open": "false"})).json()["alerts"] == []
    bad = await service.client.get("/v1/alerts", headers=supervisor, params={"before": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "before"
