"""Erasure reaches planning: plan content is sealed in the event store (the private version
records) and in the current-plan read model; on ``ParticipantErased`` planning destroys its key,
and every plan read says the content was erased while versions, history and statuses stay."""

import uuid

import pytest
from erasure_helpers import Person, Staff, data_key, found_in_database, found_on_kafka

from shared.tenancy import system_scope
from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration


async def test_after_erasure_planning_returns_no_plan_text_and_keeps_the_history(er_intake, er_planning):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    person = Person()
    intake = Staff(er_intake.client, agency, "spec-1", ("specialist",))
    admin = Staff(er_intake.client, agency, "admin-1", ("agency_admin",))
    planning = Staff(er_planning.client, agency, "spec-1", ("specialist",))
    pid = (await intake.post("/v1/participants", person.enrolment("spec-1"))).json()["participant_id"]

    async def enrolled():
        with system_scope():
            return await er_planning.runtime.pool.fetchval(
                "SELECT 1 FROM planning_participants WHERE participant_id = $1", uuid.UUID(pid))

    await eventually(enrolled, timeout=60, message="the enrolment to reach planning")
    sections = {
        "warning_signs": [{"text": person.warning, "tags": []}],
        "support_network": [{"name": person.sponsor, "role": "sponsor", "may_contact": True,
                             "phone": person.sponsor_phone}],
        "goals": [{"description": person.plan_text}],
    }
    r = await planning.post(f"/v1/participants/{pid}/plan", {"sections": sections})
    assert r.status_code == 201, r.text
    r = await planning.put(f"/v1/participants/{pid}/plan", {"sections": {"healthy_alternatives": [
        {"activity": person.coping}]}}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    plan = (await planning.get(f"/v1/participants/{pid}/plan")).json()
    assert plan["sections"]["warning_signs"][0]["text"] == person.warning and "erased" not in plan
    assert await found_in_database(er_planning.dsn, person.texts()) == {}

    r = await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "the participant asked"})
    assert r.status_code == 200, r.text
    erased_at = r.json()["erased_at"]

    async def shredded():
        with system_scope():
            key = await data_key(er_planning.dsn, pid)
        return key is not None and key["wrapped_key"] is None

    await eventually(shredded, timeout=60, message="planning to destroy its key")

    plan = (await planning.get(f"/v1/participants/{pid}/plan")).json()
    assert plan["erased"] is True and plan["erased_at"]
    assert plan["version"] == 2 and plan["status"] == "draft"
    assert all(items == [] for items in plan["sections"].values()), plan["sections"]
    for query in ({"version": 1}, {"as_of": erased_at}):
        past = (await planning.get(f"/v1/participants/{pid}/plan", **query)).json()
        assert past["erased"] is True and all(items == [] for items in past["sections"].values())
    history = (await planning.get(f"/v1/participants/{pid}/plan/history")).json()["versions"]
    assert [v["version"] for v in history] == [1, 2]
    assert await found_on_kafka(er_planning.runtime.settings.kafka_bootstrap_servers, pid, person.texts()) == []
    fhir = await planning.get(f"/v1/participants/{pid}/plan/fhir")
    assert fhir.status_code == 200 and not any(text in fhir.text for text in person.texts())
    assert await found_in_database(er_planning.dsn, person.texts()) == {}
