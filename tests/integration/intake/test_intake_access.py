"""Who may call what: tokens (401), roles (403), agency scoping on every route (404 exactly like a
missing participant), malformed bodies (422), the e2e contract, and the access audit of every read."""

import uuid
from typing import Any

import pytest
from intake_http import CONSENT, REFERRAL, Agency, fields

from shared.auth import issue_token
from shared.minimum_necessary import REASON_HEADER
from shared.testing.auth import DEV_SECRET, bearer

pytestmark = pytest.mark.integration

PHQ9 = {"phq9": {"answers": [1, 0, 0, 0, 0, 0, 0, 0, 0]}}


async def owned_records(agency: Agency) -> dict[str, str]:
    """One participant of ``agency`` with an assessment, a consent and a support contact."""
    pid = await agency.enrol()
    aid = (await agency.post(f"/v1/participants/{pid}/assessments", PHQ9)).json()["assessment_id"]
    cid = await agency.consent(pid, disclosing_agency_id=agency.id)
    profile = (await agency.get(f"/v1/participants/{pid}")).json()
    return {"pid": pid, "aid": aid, "cid": cid, "sc": profile["support_contacts"][0]["support_contact_id"]}


# every participant-scoped route: (method, path, body)
PARTICIPANT_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/participants/{pid}", None),
    ("GET", "/v1/participants/{pid}/assessments", None),
    ("GET", "/v1/participants/{pid}/assessments/{aid}", None),
    ("GET", "/v1/participants/{pid}/assessments/{aid}/fhir", None),
    ("GET", "/v1/participants/{pid}/consents", None),
    ("GET", "/v1/participants/{pid}/consents/{cid}", None),
    ("GET", "/v1/participants/{pid}/disclosures", None),
    ("PUT", "/v1/participants/{pid}/specialist", {"specialist_id": "spec-x"}),
    ("DELETE", "/v1/participants/{pid}/specialist", None),
    ("PUT", "/v1/participants/{pid}/support-contacts/{sc}/consent", {"consent_to_contact": False}),
    ("POST", "/v1/participants/{pid}/assessments", PHQ9),
    ("POST", "/v1/participants/{pid}/consents", CONSENT),
    ("POST", "/v1/participants/{pid}/consent-drafts", {k: v for k, v in CONSENT.items() if k != "signature"}),
    ("PUT", "/v1/participants/{pid}/consents/{cid}", CONSENT),
    ("POST", "/v1/participants/{pid}/consents/{cid}/signature", {"signature": CONSENT["signature"]}),
    ("POST", "/v1/participants/{pid}/consents/{cid}/revocation", None),
    ("POST", "/v1/participants/{pid}/referrals", REFERRAL),
    ("POST", "/v1/participants/{pid}/discharge", {"reason": "other"}),
]
AGENCY_ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/participants", {"display_name": "Robin", "specialist_id": "spec-1"}),
    ("GET", "/v1/participants", None),
    ("GET", "/v1/assignment-queue", None),
    ("GET", "/v1/specialists", None),
    ("GET", "/v1/instruments", None),
]
AUDIT_ROUTE: tuple[str, str, Any] = ("GET", "/v1/participants/{pid}/access-log", None)
ALL_ROUTES = [*AGENCY_ROUTES, *PARTICIPANT_ROUTES, AUDIT_ROUTE]


async def call(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return await client.request(method, path, json=body, headers=headers)


def route_id(route: tuple[str, str, Any]) -> str:
    return f"{route[0]} {route[1]}"


# --- tokens --------------------------------------------------------------------------------------

BAD_TOKENS = {
    "missing": {},
    "not a bearer scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": {"Authorization": "Bearer not-a-jwt"},
    "wrong secret": bearer(agency_id="agency-a", secret="another-secret-that-is-long-enough-0123456789"),
    "expired": {
        "Authorization": "Bearer "
        + issue_token(DEV_SECRET, sub="s", agency_id="agency-a", roles=["specialist"], ttl_s=-60)
    },
    "no agency": {"Authorization": "Bearer " + issue_token(DEV_SECRET, sub="s", agency_id="", roles=["specialist"])},
}


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
@pytest.mark.parametrize("token", sorted(BAD_TOKENS))
async def test_every_route_answers_401_without_a_valid_token(intake, route, token):
    method, path, body = route
    ids = {"pid": uuid.uuid4(), "aid": uuid.uuid4(), "cid": uuid.uuid4(), "sc": uuid.uuid4()}
    r = await call(intake.client, method, path.format(**ids), body, BAD_TOKENS[token])
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_malformed_body_without_a_token_is_still_401(intake):
    r = await intake.client.post("/v1/participants", content=b'{"display_name": ', headers={
        "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 401


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
async def test_a_participant_token_reads_and_changes_nothing(intake, route):
    owner = Agency(intake.client)
    records = await owned_records(owner)
    as_participant = bearer(sub=records["pid"], agency_id=owner.id, roles=("participant",))
    method, path, body = route
    r = await call(intake.client, method, path.format(**records), body, as_participant)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
async def test_an_integration_token_may_only_export_fhir(intake, route):
    owner = Agency(intake.client)
    records = await owned_records(owner)
    integration = bearer(sub="emr-bridge", agency_id=owner.id, roles=("integration",))
    method, path, body = route
    r = await call(intake.client, method, path.format(**records), body, integration)
    assert r.status_code == (200 if path.endswith("/fhir") else 403), r.text


@pytest.mark.parametrize("role", ["specialist", "supervisor", "agency_admin"])
async def test_every_staff_role_may_read_the_record_the_minimum_necessary_way(intake, role):
    """A supervisor and the participant's own specialist open the record; other staff only by
    breaking the glass (shared.minimum_necessary)."""
    owner = Agency(intake.client)
    records = await owned_records(owner)
    staff = bearer(sub=f"{role}-1", agency_id=owner.id, roles=(role,))
    reason = {REASON_HEADER: "covering: on call for the weekend team"}
    for method, path, body in PARTICIPANT_ROUTES:
        if method == "GET":
            r = await call(intake.client, method, path.format(**records), body, staff)
            if role == "supervisor":
                assert r.status_code == 200, (path, r.text)
                continue
            assert r.status_code == 403, (path, r.text)
            assert r.json()["type"] == "https://waypoint.dev/problems/break-the-glass-required"
            r = await call(intake.client, method, path.format(**records), body, {**staff, **reason})
            assert r.status_code == 200, (path, r.text)
            mine = await call(intake.client, method, path.format(**records), body, owner.auth)
            assert mine.status_code == 200, (path, mine.text)


# --- agency scoping ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", PARTICIPANT_ROUTES, ids=route_id)
async def test_another_agencys_token_on_any_route_gets_exactly_the_missing_participant_answer(intake, route):
    owner, stranger = Agency(intake.client), Agency(intake.client)
    records = await owned_records(owner)
    method, path, body = route
    theirs = await call(intake.client, method, path.format(**records), body, stranger.auth)
    nobody = await call(intake.client, method, path.format(**{**records, "pid": uuid.uuid4()}), body, stranger.auth)
    assert theirs.status_code == nobody.status_code == 404, theirs.text
    assert theirs.json() == nobody.json()
    assert fields(theirs) == {"participant_id"}
    # and the owner's record is untouched and still readable by the owner only
    assert (await owner.get(f"/v1/participants/{records['pid']}")).json()["status"] == "active"


async def test_agency_listings_never_show_another_agencys_participants(intake):
    owner, stranger = Agency(intake.client), Agency(intake.client)
    await owned_records(owner)
    await owner.enrol(specialist_id=None)
    mine = await stranger.enrol(specialist_id=None)
    listed = (await stranger.get("/v1/participants")).json()["participants"]
    assert [p["participant_id"] for p in listed] == [mine]
    assert (await stranger.get("/v1/participants", specialist_id="spec-1")).json()["participants"] == []
    queue = (await stranger.get("/v1/assignment-queue")).json()["waiting"]
    assert [p["participant_id"] for p in queue] == [mine]


async def test_an_assessment_or_consent_of_another_participant_is_not_reachable_through_this_one(intake):
    agency = Agency(intake.client)
    first, second = await owned_records(agency), await owned_records(agency)
    r = await agency.get(f"/v1/participants/{second['pid']}/assessments/{first['aid']}")
    assert (r.status_code, fields(r)) == (404, {"assessment_id"})
    r = await agency.get(f"/v1/participants/{second['pid']}/assessments/{first['aid']}/fhir")
    assert (r.status_code, fields(r)) == (404, {"assessment_id"})
    r = await agency.get(f"/v1/participants/{second['pid']}/consents/{first['cid']}")
    assert (r.status_code, fields(r)) == (404, {"consent_id"})
    r = await agency.post(f"/v1/participants/{second['pid']}/consents/{first['cid']}/revocation")
    assert (r.status_code, fields(r)) == (404, {"consent_id"})
    assert (await agency.get(f"/v1/participants/{first['pid']}/consents/{first['cid']}")).json()["status"] == "active"


# --- malformed bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", [r for r in ALL_ROUTES if r[2] is not None], ids=route_id)
async def test_a_malformed_json_body_is_a_422_problem_and_changes_nothing(intake, route):
    agency = Agency(intake.client)
    records = await owned_records(agency)
    before = await intake.runtime.pool.fetchval("SELECT count(*) FROM events WHERE agency_id = $1", agency.id)
    method, path, _ = route
    r = await intake.client.request(method, path.format(**records), content=b'{"phq9": {"answers": [1, 2,',
                                    headers={**agency.auth, "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "body", "message": "JSON decode error", "type": "json_invalid"}]
    after = await intake.runtime.pool.fetchval("SELECT count(*) FROM events WHERE agency_id = $1", agency.id)
    assert after == before


@pytest.mark.parametrize("body", [[1, 2, 3], "phq9", 42, None])
async def test_a_body_that_is_not_an_object_is_422(intake, body):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/assessments", body)
    assert r.status_code == 422
    assert fields(r) == {"body"}


# --- the e2e contract ----------------------------------------------------------------------------


async def test_the_e2e_contract_enrol_then_assess_with_a_phq9(intake):
    agency = Agency(intake.client)
    r = await agency.post("/v1/participants", {"display_name": "Robin", "specialist_id": agency.sub})
    assert r.status_code == 201
    pid = r.json()["participant_id"]
    assert uuid.UUID(pid)
    r = await agency.post(f"/v1/participants/{pid}/assessments", {"phq9": {"answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]}})
    assert r.status_code == 201
    aid = r.json()["assessment_id"]
    assert uuid.UUID(aid)
    one = await agency.get(f"/v1/participants/{pid}/assessments/{aid}")
    assert one.json()["scores"]["phq9"] == {"total": 8, "severity": "mild", "item9": 0}


# --- access audit --------------------------------------------------------------------------------


async def test_every_read_and_export_of_participant_data_is_audited_with_the_user(intake):
    agency = Agency(intake.client)
    records = await owned_records(agency)
    pid = uuid.UUID(records["pid"])
    await agency.delete(f"/v1/participants/{records['pid']}/specialist")  # so the queue shows them too
    start = await intake.runtime.pool.fetchval("SELECT coalesce(max(id), 0) FROM access_log")
    reader = bearer(sub="auditor-7", agency_id=agency.id, roles=("supervisor",))
    for method, path, body in [*AGENCY_ROUTES[1:], *PARTICIPANT_ROUTES]:
        if method == "GET":
            r = await call(intake.client, method, path.format(**records), body, reader)
            assert r.status_code == 200, (path, r.text)
    rows = await intake.runtime.pool.fetch(
        "SELECT participant_id, actor, action FROM access_log WHERE id > $1 AND agency_id = $2 ORDER BY id",
        start,
        agency.id,
    )
    assert {r["actor"] for r in rows} == {"auditor-7"}
    assert all(r["participant_id"] == pid for r in rows)
    assert [r["action"] for r in rows] == [
        "list participants",
        "list assignment queue",
        "read participant",
        "list assessments",
        f"read assessment {records['aid']}",
        f"export assessment {records['aid']}",
        "list consents",
        f"read consent {records['cid']}",
        "list disclosures",
    ]


async def test_a_refused_read_is_recorded_as_an_attempt_in_the_readers_agency(intake):
    owner, stranger = Agency(intake.client), Agency(intake.client)
    records = await owned_records(owner)
    assert (await stranger.get(f"/v1/participants/{records['pid']}")).status_code == 404
    rows = await intake.runtime.pool.fetch(
        "SELECT participant_id, actor, action FROM access_log WHERE agency_id = $1", stranger.id)
    assert [(r["participant_id"], r["action"]) for r in rows] == [
        (uuid.UUID(records["pid"]), "refused read attempt (404): GET /v1/participants/{participant_id}")]
    assert rows[0]["actor"].startswith("user-")
    owner_log = await intake.client.get(f"/v1/participants/{records['pid']}/access-log",
                                        headers=bearer(sub="a", agency_id=owner.id, roles=("agency_admin",)))
    assert not any(e["action"].startswith("refused") for e in owner_log.json()["access_log"])


async def test_supervisors_and_admins_can_see_who_read_a_record_specialists_cannot(intake):
    agency = Agency(intake.client)
    records = await owned_records(agency)
    pid = records["pid"]
    reader = bearer(sub="curious-specialist", agency_id=agency.id, roles=("specialist",))
    exported = await intake.client.get(f"/v1/participants/{pid}/assessments/{records['aid']}/fhir",
                                       headers={**reader, REASON_HEADER: "quality-review: checking the FHIR export"})
    assert exported.status_code == 200, exported.text
    r = await intake.client.get(f"/v1/participants/{pid}/access-log", headers=reader)
    assert r.status_code == 403
    for role in ("supervisor", "agency_admin"):
        auditor = bearer(sub=f"{role}-9", agency_id=agency.id, roles=(role,))
        r = await intake.client.get(f"/v1/participants/{pid}/access-log", headers=auditor)
        assert r.status_code == 200
        entries = r.json()["access_log"]
        assert ("curious-specialist", f"export assessment {records['aid']}") in [
            (e["actor"], e["action"]) for e in entries
        ]
        assert entries[0]["at"]
    r = await intake.client.get(f"/v1/participants/{pid}/access-log", headers=auditor)
    assert [(e["actor"], e["action"]) for e in r.json()["access_log"][:2]] == [
        ("agency_admin-9", "read access log"),
        ("supervisor-9", "read access log"),
    ]
    stranger = bearer(sub="s", agency_id="agency-elsewhere", roles=("supervisor",))
    theirs = await intake.client.get(f"/v1/participants/{pid}/access-log", headers=stranger)
    nobody = await intake.client.get(f"/v1/participants/{uuid.uuid4()}/access-log", headers=stranger)
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json() == nobody.json()
