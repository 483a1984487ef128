"""Minimum necessary, with break-the-glass, on the four services (real PostgreSQL, real Kafka):
a specialist opens the records of their own caseload; a supervisor every record of the agency;
anyone else on staff only with a reason, and then the access is flagged in the service's access
log and listed for the supervisors. Assignment comes from intake's events."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.monitoring.application import handlers
from services.monitoring.domain.commands import StartMonitoring
from shared.envelope import Metadata
from shared.minimum_necessary import REASON_HEADER, REASON_KINDS
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration

AGENCY = f"agency-glass-{uuid.uuid4().hex[:6]}"
ELSEWHERE = f"agency-other-{uuid.uuid4().hex[:6]}"
OWN = bearer(sub="spec-own", agency_id=AGENCY, roles=("specialist",))
COLLEAGUE = bearer(sub="spec-colleague", agency_id=AGENCY, roles=("specialist",))
SUPERVISOR = bearer(sub="sup-glass", agency_id=AGENCY, roles=("supervisor",))
ADMIN = bearer(sub="admin-glass", agency_id=AGENCY, roles=("agency_admin",))
STRANGER = bearer(sub="spec-own", agency_id=ELSEWHERE, roles=("specialist",))  # same sub, another agency
REASON = "covering: Dana is on leave this week, I hold her caseload"
GLASS_TYPE = "https://waypoint.dev/problems/break-the-glass-required"
SERVICES = ("intake", "planning", "monitoring", "notifications")


def read_path(service: str, pid: uuid.UUID) -> str:
    """One participant read route of each service."""
    return {
        "intake": f"/v1/participants/{pid}",
        "planning": f"/v1/participants/{pid}/plan",
        "monitoring": f"/v1/participants/{pid}/timeline",
        "notifications": f"/v1/recipients/{pid}/preferences",
    }[service]


async def assigned_everywhere(svcs: dict[str, Any], pid: uuid.UUID, specialist: str) -> None:
    for name in SERVICES[1:]:
        async def there(pool: Any = svcs[name].runtime.pool) -> bool:
            found = await pool.fetchval("SELECT specialist_id FROM caseload_assignments WHERE participant_id = $1", pid)
            return bool(found == specialist)

        await eventually(there, timeout=90, message=f"the assignment to reach {name}")  # consumers lag when busy


async def with_preferences(svcs: dict[str, Any], pid: uuid.UUID) -> None:
    async def set_once_known() -> bool:  # notifications' directory learns the participant from intake
        r = await svcs["notifications"].client.put(f"/v1/recipients/{pid}/preferences", headers=SUPERVISOR,
                                                   json={"email": "robin@example.org", "channels": ["email"]})
        assert r.status_code in (200, 403), r.text
        return r.status_code == 200

    await eventually(set_once_known, timeout=90, message="the participant in notifications' directory")


@pytest.fixture(scope="module")
async def svcs(sec_intake, sec_planning, sec_monitoring, sec_notifications) -> dict[str, Any]:
    return {"intake": sec_intake, "planning": sec_planning, "monitoring": sec_monitoring,
            "notifications": sec_notifications}


@pytest.fixture(scope="module")
async def pid(svcs) -> uuid.UUID:
    """A participant on spec-own's caseload, known to all four services, with a plan."""
    r = await svcs["intake"].client.post("/v1/participants", headers=OWN,
                                         json={"display_name": "Robin", "specialist_id": "spec-own"})
    assert r.status_code == 201, r.text
    pid = uuid.UUID(r.json()["participant_id"])
    await assigned_everywhere(svcs, pid, "spec-own")
    await with_preferences(svcs, pid)

    async def known() -> Any:
        return await svcs["monitoring"].runtime.pool.fetchval(
            "SELECT 1 FROM timeline WHERE participant_id = $1", pid)

    await eventually(known, timeout=90, message="the enrolment in monitoring's timeline")
    plan = await svcs["planning"].client.post(f"/v1/participants/{pid}/plan", headers=OWN,
                                              json={"sections": {"warning_signs": [{"text": "Skipping meetings"}]}})
    assert plan.status_code == 201, plan.text
    return pid


@pytest.mark.parametrize("service", SERVICES)
async def test_the_own_specialist_and_a_supervisor_open_the_record_without_a_reason(svcs, pid, service):
    for who in (OWN, SUPERVISOR):
        r = await svcs[service].client.get(read_path(service, pid), headers=who)
        assert r.status_code == 200, r.text
    flagged = await svcs[service].runtime.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE participant_id = $1 AND flagged AND actor = ANY($2::text[])",
        pid, ["spec-own", "sup-glass"])
    assert flagged == 0


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("who", [COLLEAGUE, ADMIN], ids=["another specialist", "agency admin"])
async def test_other_staff_are_refused_without_a_reason_and_let_in_with_one_flagged(svcs, pid, service, who):
    svc = svcs[service]
    refused = await svc.client.get(read_path(service, pid), headers=who)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (problem["type"], problem["reason_header"], problem["reason_kinds"]) == (
        GLASS_TYPE, REASON_HEADER, list(REASON_KINDS))
    assert problem["min_reason_length"] == 10
    actor = "spec-colleague" if who is COLLEAGUE else "admin-glass"
    attempts = await svc.runtime.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE participant_id = $1 AND actor = $2 AND NOT flagged"
        " AND action LIKE 'refused read attempt (403)%'", pid, actor)
    assert attempts >= 1  # the refusal is in the access log too

    malformed = ("covering", "vacation: I am curious about this person", "emergency: short",
                 "other: bell %07 rings in the text", "other: not UTF-8 %FF%FE at all")
    for bad in malformed:
        invalid = await svc.client.get(read_path(service, pid), headers={**who, REASON_HEADER: bad})
        assert invalid.status_code == 422, (bad, invalid.text)
        assert invalid.json()["type"] == "https://waypoint.dev/problems/access-reason-invalid"

    opened = await svc.client.get(read_path(service, pid), headers={**who, REASON_HEADER: REASON})
    assert opened.status_code == 200, opened.text
    rows = await svc.runtime.pool.fetch(
        "SELECT actor, action, flagged, reason_kind, reason FROM access_log WHERE participant_id = $1 AND flagged"
        " ORDER BY id DESC", pid)
    mine = [r for r in rows if r["actor"] == actor]
    assert mine and (mine[0]["reason_kind"], mine[0]["reason"]) == (
        "covering", "Dana is on leave this week, I hold her caseload")
    assert mine[0]["action"].startswith("broke the glass: GET /v1/")


@pytest.mark.parametrize("service", SERVICES)
async def test_the_supervisor_lists_the_flagged_accesses_of_the_agency(svcs, pid, service):
    svc = svcs[service]
    percent_encoded = "emergency: called by the crisis line at 02%3A10, caf%C3%A9 on Main St"
    opened = await svc.client.get(read_path(service, pid), headers={**COLLEAGUE, REASON_HEADER: percent_encoded})
    assert opened.status_code == 200, opened.text

    listed = await svc.client.get("/v1/flagged-accesses", headers=SUPERVISOR, params={"participant_id": str(pid)})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["service"] == service
    newest = body["flagged_accesses"][0]
    assert set(newest) == {"id", "at", "participant_id", "actor", "action", "reason_kind", "reason"}
    assert (newest["participant_id"], newest["actor"], newest["reason_kind"], newest["reason"]) == (
        str(pid), "spec-colleague", "emergency", "called by the crisis line at 02:10, café on Main St")
    assert datetime.fromisoformat(newest["at"]) <= datetime.now(UTC)

    by_actor = await svc.client.get("/v1/flagged-accesses", headers=SUPERVISOR,
                                    params={"actor": "spec-colleague", "limit": 1})
    assert len(by_actor.json()["flagged_accesses"]) == 1 and by_actor.json()["next_offset"] == 1
    later = await svc.client.get("/v1/flagged-accesses", headers=SUPERVISOR,
                                 params={"since": "2999-01-01T00:00:00Z"})
    assert later.json()["flagged_accesses"] == []

    # the participant's own access log shows the reason on the flagged row (and only there)
    log = await svc.client.get(f"/v1/participants/{pid}/access-log", headers=SUPERVISOR)
    assert log.status_code == 200, log.text
    entries = log.json()["access_log"]
    flagged = [e for e in entries if e.get("flagged")]
    assert flagged and flagged[0]["reason_kind"] == "emergency"
    assert all("reason" not in e for e in entries if not e.get("flagged"))

    # specialists do not read the list; another agency's supervisor sees none of it
    assert (await svc.client.get("/v1/flagged-accesses", headers=COLLEAGUE)).status_code == 403
    theirs = await svc.client.get("/v1/flagged-accesses", headers=bearer(
        sub="sup-x", agency_id=ELSEWHERE, roles=("supervisor",)))
    assert theirs.status_code == 200 and theirs.json()["flagged_accesses"] == []


@pytest.mark.parametrize("service", SERVICES)
async def test_another_agency_still_gets_the_unknown_id_answer_even_with_a_reason(svcs, pid, service):
    svc = svcs[service]
    for headers in (STRANGER, {**STRANGER, REASON_HEADER: REASON}):
        theirs = await svc.client.get(read_path(service, pid), headers=headers)
        nobody = await svc.client.get(read_path(service, uuid.uuid4()), headers=headers)
        assert theirs.status_code == nobody.status_code == (404 if service != "notifications" else 403), theirs.text
        assert theirs.json() == nobody.json()
    assert await svc.runtime.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE participant_id = $1 AND agency_id = $2 AND flagged", pid, ELSEWHERE
    ) == 0


async def test_a_new_assignment_moves_the_caseload_in_every_service(svcs):
    r = await svcs["intake"].client.post("/v1/participants", headers=SUPERVISOR,
                                         json={"display_name": "Sam", "specialist_id": "spec-own"})
    pid = uuid.UUID(r.json()["participant_id"])
    await assigned_everywhere(svcs, pid, "spec-own")
    await with_preferences(svcs, pid)
    moved = await svcs["intake"].client.put(f"/v1/participants/{pid}/specialist", headers=SUPERVISOR,
                                            json={"specialist_id": "spec-colleague"})
    assert moved.status_code == 200, moved.text
    await assigned_everywhere(svcs, pid, "spec-colleague")
    for service in ("intake", "monitoring", "notifications"):  # planning has no plan for Sam
        path = read_path(service, pid)
        assert (await svcs[service].client.get(path, headers=COLLEAGUE)).status_code == 200, service
        assert (await svcs[service].client.get(path, headers=OWN)).json()["type"] == GLASS_TYPE, service
    released = await svcs["intake"].client.delete(f"/v1/participants/{pid}/specialist", headers=SUPERVISOR)
    assert released.status_code == 200, released.text
    await assigned_everywhere(svcs, pid, None)  # nobody's caseload: every specialist needs a reason
    for service in ("intake", "monitoring", "notifications"):
        assert (await svcs[service].client.get(read_path(service, pid), headers=COLLEAGUE)).status_code == 403


async def test_an_enrolment_not_yet_in_the_projection_is_closed_even_with_a_reason(svcs):
    """Monitoring knows the participant, its projection of intake's assignments does not (yet)."""
    monitoring = svcs["monitoring"]
    pid = uuid.uuid4()
    async with monitoring.runtime.uow(Metadata(correlation_id=str(uuid.uuid4()), actor="test"),
                                      agency_id=AGENCY) as uow:
        await handlers.start_monitoring(StartMonitoring(participant_id=pid, specialist_id="spec-own"), uow)
    path = f"/v1/participants/{pid}/check-in-schedule"
    assert (await monitoring.client.get(path, headers=SUPERVISOR)).status_code == 200
    for headers in (OWN, {**COLLEAGUE, REASON_HEADER: REASON}):
        r = await monitoring.client.get(path, headers=headers)
        assert r.status_code == 404, r.text
        assert r.json()["type"] == "https://waypoint.dev/problems/assignment-not-known"
