"""Private notes read back by the people who need them, and the access audit of monitoring's
reads, on real Kafka and PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from shared.testing.auth import bearer

from .helpers import AGENCY, STAFF, SUPERVISOR, enrol_directly, monitoring

pytestmark = pytest.mark.integration

OTHER_SPECIALIST = bearer(sub="crs-2", agency_id=AGENCY, roles=("specialist",))
ADMIN = bearer(sub="admin-1", agency_id=AGENCY, roles=("agency_admin",))
ELSEWHERE = bearer(sub="crs-1", agency_id="agency-elsewhere", roles=("specialist", "supervisor"))


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra, scheduler=False) as running:
        yield running


async def _someone_with_notes(svc) -> tuple[uuid.UUID, str]:
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)  # assigned to crs-1 (STAFF)
    check_in = await svc.client.post(
        f"/v1/participants/{pid}/check-ins",
        headers=STAFF,
        json={
            "craving": 4,
            "mood": 2,
            "private_note": "argument with my brother again",
            "warning_signs": [{"description": "skipping meals"}],
            "coping_strategies": [{"description": "called my sponsor", "helped": True}],
        },
    )
    assert check_in.status_code == 201, check_in.text
    sos = await svc.client.post(
        f"/v1/participants/{pid}/help-requests", headers=STAFF, json={"message": "at the bar, need a ride"}
    )
    assert sos.status_code == 201, sos.text
    return pid, check_in.json()["check_in_id"]


async def test_the_assigned_specialist_reads_the_notes_newest_first_with_filters_and_pages(svc):
    pid, check_in_id = await _someone_with_notes(svc)
    r = await svc.client.get(f"/v1/participants/{pid}/private-notes", headers=STAFF)
    assert r.status_code == 200, r.text
    texts = r.json()["texts"]
    assert [(t["kind"], t["body"]) for t in texts] == [
        ("help_message", "at the bar, need a ride"),
        ("coping_strategy", "called my sponsor"),
        ("warning_sign", "skipping meals"),
        ("check_in_note", "argument with my brother again"),
    ]
    assert {t["ref_id"] for t in texts[1:]} == {check_in_id}
    assert all(t["written_by"] == "crs-1" for t in texts)
    only_notes = await svc.client.get(
        f"/v1/participants/{pid}/private-notes", headers=STAFF, params={"kind": "check_in_note"}
    )
    assert [t["body"] for t in only_notes.json()["texts"]] == ["argument with my brother again"]
    of_check_in = await svc.client.get(
        f"/v1/participants/{pid}/private-notes", headers=STAFF, params={"ref_id": check_in_id}
    )
    assert len(of_check_in.json()["texts"]) == 3
    first = await svc.client.get(f"/v1/participants/{pid}/private-notes", headers=STAFF, params={"limit": 3})
    assert len(first.json()["texts"]) == 3 and first.json()["next_before"] == first.json()["texts"][-1]["id"]
    rest = await svc.client.get(
        f"/v1/participants/{pid}/private-notes", headers=STAFF, params={"before": first.json()["next_before"]}
    )
    assert [t["kind"] for t in rest.json()["texts"]] == ["check_in_note"]
    assert rest.json()["next_before"] is None


async def test_only_the_assigned_specialist_and_supervisors_read_private_notes(svc):
    pid, _ = await _someone_with_notes(svc)
    url = f"/v1/participants/{pid}/private-notes"
    assert (await svc.client.get(url, headers=SUPERVISOR)).status_code == 200
    assert (await svc.client.get(url, headers=OTHER_SPECIALIST)).status_code == 403
    assert (await svc.client.get(url, headers=ADMIN)).status_code == 403
    participant = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    assert (await svc.client.get(url, headers=participant)).status_code == 403
    elsewhere = await svc.client.get(url, headers=ELSEWHERE)
    unknown = await svc.client.get(f"/v1/participants/{uuid.uuid4()}/private-notes", headers=SUPERVISOR)
    assert elsewhere.status_code == unknown.status_code == 404
    assert elsewhere.json()["title"] == unknown.json()["title"]
    bad_kind = await svc.client.get(url, headers=STAFF, params={"kind": "diary"})
    assert bad_kind.status_code == 422


async def test_every_read_of_participant_data_is_in_the_access_log(svc):
    pid, _ = await _someone_with_notes(svc)
    participant = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    for headers, path in [
        (STAFF, "timeline"),
        (STAFF, "private-notes"),
        (SUPERVISOR, "private-notes"),
        (participant, "check-in-schedule"),
    ]:
        assert (await svc.client.get(f"/v1/participants/{pid}/{path}", headers=headers)).status_code == 200
    assert (await svc.client.get("/v1/caseload", headers=STAFF)).status_code == 200
    refused = await svc.client.get(f"/v1/participants/{pid}/private-notes", headers=OTHER_SPECIALIST)
    assert refused.status_code == 403
    log = await svc.client.get(f"/v1/participants/{pid}/access-log", headers=SUPERVISOR)
    assert log.status_code == 200, log.text
    seen = [(e["actor"], e["action"]) for e in log.json()["access_log"]]
    refused_row = ("crs-2", "refused read attempt (403): GET /v1/participants/{participant_id}/private-notes")
    assert seen == [
        refused_row,  # the refused read showed nothing: recorded as an attempt, with who and which id
        ("crs-1", "read caseload"),
        (str(pid), "read check-in schedule"),
        ("sup-1", "read private notes"),
        ("crs-1", "read private notes"),
        ("crs-1", "read timeline"),
    ]  # newest first
    again = await svc.client.get(f"/v1/participants/{pid}/access-log", headers=SUPERVISOR)
    assert [(e["actor"], e["action"]) for e in again.json()["access_log"]][:2] == [
        ("sup-1", "read access log"),
        refused_row,
    ]
    assert (await svc.client.get(f"/v1/participants/{pid}/access-log", headers=STAFF)).status_code == 403
    other_agency = await svc.client.get(f"/v1/participants/{pid}/access-log", headers=ELSEWHERE)
    assert other_agency.status_code == 200 and other_agency.json()["access_log"] == []


async def test_the_access_log_cannot_be_changed(svc):
    pid, _ = await _someone_with_notes(svc)
    await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)
    for statement in (
        "UPDATE access_log SET actor = 'nobody'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ):
        # the trigger refuses it, or (TRUNCATE) the service's role may not even try
        with pytest.raises((asyncpg.RaiseError, asyncpg.InsufficientPrivilegeError), match=r"append-only|permission"):
            await svc.runtime.pool.execute(statement)
    assert await svc.runtime.pool.fetchval("SELECT count(*) FROM access_log WHERE participant_id = $1", pid) == 1
