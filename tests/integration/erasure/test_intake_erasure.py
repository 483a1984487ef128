"""Erasure in intake, on real PostgreSQL and Kafka: texts are sealed at rest from the start, the
erasure endpoint destroys the key and publishes ``ParticipantErased`` (no text in it), and every
intake API that returned the person's names, contacts or free text then says they were erased,
while ids, codes, scores, counts and the disclosure ledger stay."""

import uuid
from datetime import datetime

import orjson
import pytest
from erasure_helpers import Person, Staff, data_key, found_in_database

from shared.testing.kafka import collect, header

pytestmark = pytest.mark.integration


async def _person_in_intake(er_intake, agency: str) -> tuple[Person, Staff, Staff, str]:
    person = Person()
    specialist = Staff(er_intake.client, agency, "spec-1", ("specialist",))
    admin = Staff(er_intake.client, agency, "admin-1", ("agency_admin",))
    r = await specialist.post("/v1/participants", person.enrolment("spec-1"))
    assert r.status_code == 201, r.text
    pid = r.json()["participant_id"]
    assert (await specialist.post(f"/v1/participants/{pid}/assessments", person.assessment())).status_code == 201
    r = await specialist.post(f"/v1/participants/{pid}/consents", person.consent(agency, "agency-mh"))
    assert r.status_code == 201, r.text
    r = await specialist.post(f"/v1/participants/{pid}/referrals", {
        "recipient_agency_id": "agency-mh", "purpose": "mental_health_referral", "information": ["risk_level"],
        "note": person.referral_note})
    assert r.status_code == 201, r.text
    return person, specialist, admin, pid


async def test_intake_keeps_no_text_of_a_participant_in_clear(er_intake):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    person, specialist, _, pid = await _person_in_intake(er_intake, agency)
    shown = (await specialist.get(f"/v1/participants/{pid}")).json()
    assert shown["display_name"] == person.name and shown["contact"]["email"] == person.email
    assert {c["name"] for c in shown["support_contacts"]} == {person.sponsor, "Alex Sibling"}
    assert "erased" not in shown
    assert await found_in_database(er_intake.dsn, person.texts()) == {}


async def test_erasure_destroys_the_key_and_every_intake_api_says_the_texts_were_erased(er_intake):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    person, specialist, admin, pid = await _person_in_intake(er_intake, agency)
    before_ledger = (await specialist.get(f"/v1/participants/{pid}/disclosures")).json()["disclosures"]
    before_assessments = (await specialist.get(f"/v1/participants/{pid}/assessments")).json()["assessments"]

    # who may erase: an agency admin of the participant's agency, with a reason
    assert (await specialist.post(f"/v1/participants/{pid}/erasure", {"reason": "asked"})).status_code == 403
    assert (await admin.post(f"/v1/participants/{pid}/erasure", {})).status_code == 422
    assert (await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "  "})).status_code == 422
    stranger = Staff(er_intake.client, f"agency-{uuid.uuid4().hex[:8]}", "admin-2", ("agency_admin",))
    assert (await stranger.post(f"/v1/participants/{pid}/erasure", {"reason": "asked"})).status_code == 404
    nobody = await admin.post(f"/v1/participants/{uuid.uuid4()}/erasure", {"reason": "asked"})
    assert nobody.status_code == 404

    r = await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "the participant asked in writing"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["erased"] is True and first["erased_now"] is True
    again = (await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "again"})).json()
    assert again["erased_at"] == first["erased_at"] and again["erased_now"] is False

    key = await data_key(er_intake.dsn, pid)
    assert key["wrapped_key"] is None and key["master_key_id"] is None
    assert key["erasure_reason"] == "the participant asked in writing" and key["erased_by"] == "admin-1"

    # the record: still there, its texts null and marked erased
    shown = (await specialist.get(f"/v1/participants/{pid}")).json()
    assert shown["display_name"] is None and shown["contact"] is None
    assert shown["erased"] is True and shown["erased_at"] == first["erased_at"]
    assert shown["status"] == "active" and shown["primary_substances"] == ["alcohol"]
    assert len(shown["support_contacts"]) == 2
    for contact in shown["support_contacts"]:
        assert contact["name"] is None and contact["phone"] is None and contact["email"] is None
        assert contact["erased"] is True and contact["relation"] in ("sponsor", "sibling")
    listed = (await specialist.get("/v1/participants")).json()["participants"]
    assert [p["display_name"] for p in listed if p["participant_id"] == pid] == [None]

    assessments = (await specialist.get(f"/v1/participants/{pid}/assessments")).json()["assessments"]
    assert [a["scores"] for a in assessments] == [a["scores"] for a in before_assessments]
    factors = assessments[0]["answers"]["risk_factors"]
    assert factors["triggers"][0]["description"] is None and factors["triggers"][0]["situations"] == ["social_pressure"]
    assert factors["stressors"][0] == {"category": "housing", "description": None}
    assert assessments[0]["erased"] is True

    fhir = await specialist.get(f"/v1/participants/{pid}/assessments/{assessments[0]['assessment_id']}/fhir")
    assert fhir.status_code == 200 and not any(text in fhir.text for text in person.texts())

    consents = (await specialist.get(f"/v1/participants/{pid}/consents")).json()["consents"]
    assert consents[0]["signature"] is None and consents[0]["information_description"] is None
    assert consents[0]["status"] == "active" and consents[0]["erased"] is True

    ledger = (await specialist.get(f"/v1/participants/{pid}/disclosures")).json()["disclosures"]
    assert [d["disclosure_id"] for d in ledger] == [d["disclosure_id"] for d in before_ledger]
    assert all(d["note"] is None and d["erased"] is True for d in ledger)
    referrals = (await specialist.get(f"/v1/participants/{pid}/referrals")).json()["referrals"]
    assert len(referrals) == 1 and referrals[0]["erased"] is True
    receiving = Staff(er_intake.client, "agency-mh", "mh-1", ("specialist",))
    incoming = [r for r in (await receiving.get("/v1/referrals/incoming")).json()["referrals"]
                if r["referral_id"] == referrals[0]["referral_id"]]
    assert incoming and incoming[0]["note"] is None and incoming[0]["disclosed"] is None

    assert await found_in_database(er_intake.dsn, person.texts()) == {}

    # the event: on the intake topic, with the id and the time, nothing else
    records = await collect(er_intake.runtime.settings.kafka_bootstrap_servers, "waypoint.intake.v1",
                            lambda rec: header(rec, "ce_subject") == pid
                            and header(rec, "ce_type") == "waypoint.intake.ParticipantErased.v1", timeout=30)
    assert len(records) == 1
    payload = orjson.loads(records[0].value)
    assert set(payload) == {"participant_id", "erased_at"} and payload["participant_id"] == pid
    assert datetime.fromisoformat(payload["erased_at"]) == datetime.fromisoformat(first["erased_at"])
