"""Generated from every route of every service's OpenAPI document: a caller of another agency who
names this agency's participant gets exactly the answer an unknown id gets, never data."""

import json
import re
import uuid

import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration

OWNER, PROBER = f"agency-own-{uuid.uuid4().hex[:6]}", f"agency-probe-{uuid.uuid4().hex[:6]}"
STAFF = ("specialist", "supervisor", "agency_admin", "integration")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")
PERSON_PARAMS = {"participant_id", "recipient_id"}
KNOWN_TABLE = {"planning": "planning_participants", "monitoring": "monitored_participants",
               "notifications": "recipient_directory"}


@pytest.fixture(scope="module")
async def seeded(sec_intake, sec_planning, sec_monitoring, sec_notifications):
    """A participant of OWNER known to all four services, with a plan and a check-in."""
    owner = bearer(sub="owner-spec", agency_id=OWNER, roles=("specialist", "supervisor"))
    r = await sec_intake.client.post("/v1/participants", headers=owner,
                                     json={"display_name": "Robin", "specialist_id": "owner-spec"})
    assert r.status_code == 201, r.text
    pid = uuid.UUID(r.json()["participant_id"])
    services = {"planning": sec_planning, "monitoring": sec_monitoring, "notifications": sec_notifications}
    for name, svc in services.items():
        async def known(svc=svc, table=KNOWN_TABLE[name]):
            return await svc.runtime.pool.fetchval(f"SELECT 1 FROM {table} WHERE participant_id = $1", pid)

        await eventually(known, timeout=90, message=f"the enrolment in {name}")  # consumers lag on a busy machine
    plan = await sec_planning.client.post(f"/v1/participants/{pid}/plan", headers=owner,
                                          json={"sections": {"warning_signs": [{"text": "Skipping meetings"}]}})
    assert plan.status_code == 201, plan.text
    check_in = await sec_monitoring.client.post(f"/v1/participants/{pid}/check-ins", headers=owner,
                                                json={"craving": 3, "mood": 4})
    assert check_in.status_code in (200, 201, 202), check_in.text
    return {"intake": sec_intake, **services, "pid": pid}


def _routes(openapi: dict) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, item in openapi["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "delete", "patch"):
                found.append((method.upper(), path, re.findall(r"{(\w+)}", path)))
    return found


def _fill(path: str, params: list[str], person: str, other: str) -> str:
    for name in params:
        path = path.replace("{" + name + "}", person if name in PERSON_PARAMS else other)
    return path


@pytest.mark.parametrize("service", ["intake", "planning", "monitoring", "notifications"])
async def test_another_agency_gets_the_unknown_id_answer_on_every_route(seeded, service):
    svc, pid = seeded[service], str(seeded["pid"])
    prober = {**bearer(sub="prober", agency_id=PROBER, roles=STAFF), "If-Match": '"1"'}
    routes = _routes((await svc.client.get("/openapi.json")).json())
    assert routes
    compared = 0
    unknown = str(uuid.uuid4())  # one unknown id, probed exactly like the owner's participant
    for method, path, params in routes:
        other = str(uuid.uuid4())
        body = None if method in ("GET", "DELETE") else {}
        if PERSON_PARAMS & set(params):
            answers = []
            for person in (pid, unknown):
                r = await svc.client.request(method, _fill(path, params, person, other), headers=prober,
                                             json=body)
                answers.append((r.status_code, TIMESTAMP.sub("<t>", r.text.replace(person, "<id>"))))
            assert answers[0] == answers[1], (method, path, answers)
            assert answers[0][0] < 500, (method, path, answers[0])
            compared += 1
        if method == "GET":  # no listing or lookup of the prober's shows the owner's participant
            r = await svc.client.get(_fill(path, params, str(uuid.uuid4()), other), headers=prober)
            assert pid not in r.text, (path, r.text[:500])
    assert compared > 0


async def test_the_owner_does_see_the_participant(seeded):
    """The probe would be empty if the seed were invisible to its own agency."""
    owner = bearer(sub="owner-spec", agency_id=OWNER, roles=("specialist", "supervisor"))
    pid = seeded["pid"]
    for service, path in (("intake", f"/v1/participants/{pid}"), ("planning", f"/v1/participants/{pid}/plan"),
                          ("monitoring", f"/v1/participants/{pid}/timeline")):
        r = await seeded[service].client.get(path, headers=owner)
        assert r.status_code == 200, (service, r.text)
        assert json.dumps(r.json())
