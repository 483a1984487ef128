"""What each intake command publishes on real Kafka: event types, fields, CloudEvents headers, and
that nothing identifying ever travels."""

import uuid

import orjson
import pytest
from intake_http import CONSENT, FULL_ENROLMENT, IDENTIFIERS, REFERRAL, Agency

from shared.testing.kafka import collect, header

pytestmark = pytest.mark.integration
TOPIC = "waypoint.intake.v1"
SELF_HARM_WITH_TRIGGERS = {
    "phq9": {"answers": [2, 2, 2, 2, 1, 1, 0, 0, 1]},
    "gad7": {"answers": [1, 1, 1, 1, 1, 1, 1]},
    "risk_factors": {
        "triggers": [{"description": "payday at the pub", "situations": ["social_pressure"]}],
        "stressors": [{"category": "housing", "description": "eviction letter"}],
    },
}


async def published(intake, pid: str, count: int) -> list:
    records = await collect(intake.runtime.settings.kafka_bootstrap_servers, TOPIC,
                            lambda r: header(r, "ce_subject") == pid, count=count, timeout=30)  # fmt: skip
    assert len(records) == count, [header(r, "ce_type") for r in records]
    return records


def name(record) -> str:
    return header(record, "ce_type").split(".")[2]


def data(record) -> dict:
    return orjson.loads(record.value)


async def test_every_command_publishes_its_events_with_cloudevents_headers_and_no_identifiers(intake):
    agency = Agency(intake.client)
    correlation = str(uuid.uuid4())
    r = await intake.client.post("/v1/participants", json={**FULL_ENROLMENT, "specialist_id": None},
                                 headers={**agency.auth, "x-correlation-id": correlation})  # fmt: skip
    pid = r.json()["participant_id"]
    profile = (await agency.get(f"/v1/participants/{pid}")).json()
    sponsor = next(c for c in profile["support_contacts"] if c["name"] == "Sam Sponsor")

    await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "spec-1"})
    await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "spec-2"})
    await agency.delete(f"/v1/participants/{pid}/specialist")
    await agency.put(f"/v1/participants/{pid}/support-contacts/{sponsor['support_contact_id']}/consent",
                     {"consent_to_contact": False})  # fmt: skip
    aid = (await agency.post(f"/v1/participants/{pid}/assessments", SELF_HARM_WITH_TRIGGERS)).json()["assessment_id"]
    cid = await agency.consent(pid, expiry={"event": "discharge"})
    referral = (await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)).json()
    revocable = await agency.consent(pid)
    await agency.post(f"/v1/participants/{pid}/consents/{revocable}/revocation")
    await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "plan_completed"})

    records = await published(intake, pid, 15)
    assert [name(r) for r in records] == [
        "ParticipantEnrolled", "SpecialistAssigned", "SpecialistAssigned", "SpecialistUnassigned",
        "SupportContactConsentChanged", "AssessmentCompleted", "SafetyConcernRaised", "RiskLevelChanged",
        "CoOccurringConditionFlagged", "ConsentGranted", "ReferralRequested", "ConsentGranted", "ConsentRevoked",
        "ParticipantDischarged", "ConsentExpired",
    ]  # fmt: skip

    for r in records:
        assert r.key == pid.encode()
        assert header(r, "ce_specversion") == "1.0"
        assert uuid.UUID(header(r, "ce_id"))
        assert header(r, "ce_source") == "/waypoint/intake"
        assert header(r, "ce_type") == f"waypoint.intake.{name(r)}.v1"
        assert header(r, "ce_time")
        assert header(r, "content-type") == "application/json"
        assert header(r, "ce_agencyid") == agency.id
        assert header(r, "ce_dataclassification") == "restricted"
        assert header(r, "ce_dataregulation") == "42CFRPart2"
        assert data(r)["participant_id"] == pid
        for identifier in IDENTIFIERS:
            assert identifier not in r.value.decode(), f"{identifier!r} travelled in {name(r)}"
    assert header(records[0], "ce_correlationid") == correlation
    assert len({header(r, "ce_id") for r in records}) == len(records)

    enrolled, first, transfer, released, consent_change = (data(r) for r in records[:5])
    assert (enrolled["specialist_id"], enrolled["preferred_channel"]) == (None, "sms")
    assert enrolled["primary_substances"] == ["alcohol", "opioids"]
    assert {(c["relation"], c["consent_to_contact"]) for c in enrolled["support_contacts"]} == {
        ("sponsor", True),
        ("sibling", False),
    }
    assert (first["specialist_id"], first["previous_specialist_id"]) == ("spec-1", None)
    assert (transfer["specialist_id"], transfer["previous_specialist_id"]) == ("spec-2", "spec-1")
    assert released["previous_specialist_id"] == "spec-2"
    assert consent_change == {
        **consent_change,
        "support_contact_id": sponsor["support_contact_id"],
        "consent_to_contact": False,
    }

    completed, concern, changed, flag = (data(r) for r in records[5:9])
    assert completed["assessment_id"] == aid
    assert completed["phq9"] == {"total": 11, "severity": "moderate", "item9": 1}
    assert completed["gad7"] == {"total": 7, "severity": "mild"}
    assert completed["triggers"][0]["situations"] == ["social_pressure"]
    assert completed["stressors"] == ["housing"]
    assert completed["risk_level"] == "critical"
    assert completed["risk_reasons"] == ["PHQ-9 item 9 = 1 > 0", "PHQ-9 11 >= 10"]
    assert (concern["concerns"], concern["phq9_item9"]) == (["self_harm_thoughts"], 1)
    assert (changed["previous_level"], changed["risk_level"], changed["reasons"]) == (
        None,
        "critical",
        completed["risk_reasons"],
    )
    assert (flag["instrument"], flag["score"], flag["severity"]) == ("PHQ-9", 11, "moderate")
    caused = {header(r, "ce_correlationid") for r in records[5:9]}
    assert len(caused) == 1, "the events of one assessment share its request's correlation id"

    granted, requested = data(records[9]), data(records[10])
    assert (granted["consent_id"], granted["version"], granted["expiry_event"]) == (cid, 1, "discharge")
    assert (granted["recipient_kind"], granted["recipient_agency_ids"]) == ("named_agency", ["agency-mh"])
    assert requested == referral
    assert requested["consent_id"] == cid and "42 CFR part 2" in requested["redisclosure_notice"]
    assert data(records[12])["consent_id"] == revocable
    assert data(records[13])["reason"] == "plan_completed"
    assert data(records[14])["consent_id"] == cid


async def test_rejected_commands_publish_nothing(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    assert (await agency.post(f"/v1/participants/{pid}/assessments", {"phq9": {"answers": [9] * 9}})).status_code == 422
    assert (await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)).status_code == 404
    bad_consent = {k: v for k, v in CONSENT.items() if k != "signature"}
    assert (await agency.post(f"/v1/participants/{pid}/consents", bad_consent)).status_code == 422
    assert (await agency.delete(f"/v1/participants/{pid}/specialist")).status_code == 200
    assert (await agency.delete(f"/v1/participants/{pid}/specialist")).status_code == 409
    records = await published(intake, pid, 2)
    assert [name(r) for r in records] == ["ParticipantEnrolled", "SpecialistUnassigned"]
