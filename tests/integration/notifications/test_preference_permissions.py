"""Who may see and change whose notification preferences (an e-mail address among them); reads of
someone else's, the inbox, and refused attempts are in the access log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from test_notifications_flow import Agency, enrol

from shared.testing.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _in_directory(service, pid: uuid.UUID) -> None:
    async def known():
        return await service.runtime.pool.fetchval(
            "SELECT 1 FROM recipient_directory WHERE participant_id = $1", pid)

    await eventually(known, timeout=15, message="the participant in the directory")


async def _log(service, agency_id: str) -> list[tuple[str, str]]:
    rows = await service.runtime.pool.fetch(
        "SELECT actor, action FROM access_log WHERE agency_id = $1 ORDER BY id", agency_id)
    return [(r["actor"], r["action"]) for r in rows]


async def test_staff_may_set_a_participants_preferences_but_only_an_admin_staffs(service, upstream):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    await _in_directory(service, pid)
    specialist = agency.auth(agency.specialist, "specialist")
    supervisor = agency.auth(agency.supervisor, "supervisor")

    ok = await service.client.put(f"/v1/recipients/{pid}/preferences", headers=specialist,
                                  json={"email": "p@x.test"})
    assert ok.status_code == 200, ok.text
    for other in (agency.supervisor, agency.admin, "someone-else"):
        refused = await service.client.put(f"/v1/recipients/{other}/preferences", headers=specialist,
                                           json={"email": "attacker@evil.test"})
        assert refused.status_code == 403
        assert (await service.client.get(f"/v1/recipients/{other}/preferences", headers=specialist)).status_code == 403
    assert (await service.client.get(f"/v1/recipients/{agency.admin}/preferences",
                                     headers=supervisor)).status_code == 403
    assert (await service.client.put(f"/v1/recipients/{pid}/preferences", headers=supervisor,
                                     json={"email": "p2@x.test"})).status_code == 200
    # the admin's e-mail stayed
    got = await service.client.get(f"/v1/recipients/{agency.supervisor}/preferences", headers=agency.admin_auth)
    assert got.status_code == 200 and got.json()["email"] == agency.email(agency.supervisor)
    # own preferences: always
    own = await service.client.put(f"/v1/recipients/{agency.specialist}/preferences", headers=specialist,
                                   json={"email": "me@x.test"})
    assert own.status_code == 200


async def test_a_participant_of_another_agency_is_staff_to_this_one(service, upstream):
    mine, theirs = await Agency(service).setup(), await Agency(service).setup()
    pid = await enrol(upstream, theirs)
    await _in_directory(service, pid)
    r = await service.client.put(f"/v1/recipients/{pid}/preferences", headers=mine.auth(mine.specialist, "specialist"),
                                 json={"email": "redirect@evil.test"})
    assert r.status_code == 403


async def test_reads_of_someone_elses_preferences_the_inbox_and_refusals_are_audited(service, upstream):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    await _in_directory(service, pid)
    await agency.prefer(str(pid))
    specialist = agency.auth(agency.specialist, "specialist")
    assert (await service.client.get(f"/v1/recipients/{pid}/preferences", headers=specialist)).status_code == 200
    assert (await service.client.get(f"/v1/recipients/{agency.admin}/preferences",
                                     headers=specialist)).status_code == 403
    assert (await service.client.get(f"/v1/recipients/{agency.specialist}/preferences",
                                     headers=specialist)).status_code in (200, 404)  # own: not audited
    assert (await service.client.get("/v1/notifications", headers=specialist)).status_code == 200
    log = await _log(service, agency.id)
    assert (agency.specialist, "read preferences of participant") in log
    assert (agency.specialist, f"refused attempt: read preferences of staff member {agency.admin}") in log
    participant_rows = await service.runtime.pool.fetch(
        "SELECT participant_id FROM access_log WHERE agency_id = $1 AND action = 'read preferences of participant'",
        agency.id)
    assert [r["participant_id"] for r in participant_rows] == [pid]
    assert not any("own" in action for _, action in log)


async def test_an_inbox_read_is_audited_per_participant_shown(service, upstream):
    from shared.catalogue.monitoring import HelpRequested

    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    await upstream.publish(
        HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=datetime.now(UTC)),
        agency_id=agency.id, participant_id=pid,
    )

    async def inbox():
        return await agency.inbox(agency.specialist, "specialist") or None

    await eventually(inbox, timeout=15, message="the alert in the inbox")
    rows = await service.runtime.pool.fetch(
        "SELECT participant_id, actor FROM access_log WHERE agency_id = $1 AND action = 'read inbox'", agency.id)
    assert {(r["participant_id"], r["actor"]) for r in rows} == {(pid, agency.specialist)}
