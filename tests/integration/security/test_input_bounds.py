"""Input the fuzzer turned into 500s, and oversized bodies: clear 4xx problems, nothing reaches the database."""

import uuid

import pytest

from shared.testing.auth import bearer

pytestmark = pytest.mark.integration


async def test_a_4000_digit_if_match_is_422(sec_planning):
    response = await sec_planning.client.put(
        f"/v1/participants/{uuid.uuid4()}/plan", json={"sections": {"warning_signs": []}},
        headers={**bearer(), "If-Match": '"' + "9" * 4000 + '"'},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "If-Match"


@pytest.mark.parametrize("tag", [b'"2147483648"', '"²"'.encode("latin-1"), b'"0"'])
async def test_an_if_match_outside_the_version_range_is_422(sec_planning, tag):
    response = await sec_planning.client.put(
        f"/v1/participants/{uuid.uuid4()}/plan", json={"sections": {"warning_signs": []}},
        headers={**bearer(), "If-Match": tag},
    )
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/plan", "/plan/fhir"])
async def test_a_version_past_the_integer_range_is_422(sec_planning, path):
    # a supervisor: held to no caseload, so the participant's assignment is not asked first
    response = await sec_planning.client.get(f"/v1/participants/{uuid.uuid4()}{path}?version=3000000000",
                                             headers=bearer(roles=("supervisor",)))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.version"


async def test_private_notes_before_past_bigint_is_422(sec_monitoring):
    response = await sec_monitoring.client.get(
        f"/v1/participants/{uuid.uuid4()}/private-notes?before=9223372036854775808",
        headers=bearer(roles=("supervisor",)))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.before"


async def test_a_201_character_recipient_id_is_422(sec_notifications):
    recipient = "r" * 201
    got = await sec_notifications.client.get(f"/v1/recipients/{recipient}/preferences",
                                             headers=bearer(roles=("specialist",)))
    assert got.status_code == 422
    put = await sec_notifications.client.put(f"/v1/recipients/{recipient}/preferences", json={},
                                             headers=bearer(roles=("specialist",)))
    assert put.status_code == 422


async def test_a_body_over_the_limit_is_413_before_parsing(sec_intake):
    big = b'{"x": "' + b"a" * (256 * 1024) + b'"}'
    declared = await sec_intake.client.post("/v1/participants", content=big,
                                            headers={**bearer(), "content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    async def chunks():
        for start in range(0, len(big), 16 * 1024):
            yield big[start:start + 16 * 1024]

    chunked = await sec_intake.client.post("/v1/participants", content=chunks(),
                                           headers={**bearer(), "content-type": "application/json"})
    assert chunked.status_code == 413


async def test_a_body_under_the_limit_still_reaches_validation(sec_intake):
    response = await sec_intake.client.post("/v1/participants", content=b"{not json",
                                            headers={**bearer(), "content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("service", ["sec_planning", "sec_monitoring"])
async def test_the_access_logs_of_planning_and_monitoring_are_paged(security_services, service):
    svc = security_services[service]
    path = f"/v1/participants/{uuid.uuid4()}/access-log"
    admin = bearer(roles=("agency_admin",))
    assert (await svc.client.get(path, params={"limit": 501}, headers=admin)).status_code == 422
    page = await svc.client.get(path, params={"limit": 2}, headers=admin)
    assert page.status_code == 200 and page.json()["next_offset"] is None
