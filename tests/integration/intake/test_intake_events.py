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
    profile = (await intake.client.get(f"/v1/participants/{pid}", headers=agency.supervisor)).json()  # nobody's yet
    sponsor = next(c for c in profile["support_contacts"] if c["name"] == "Sam Sponsor")

    await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "spec-1"})
    await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "spec-2"})
    await agency.delete(f"/v1/participants/{pid}/specialist")
    await agency.put(f"/v1/participants/{pid}/support-contacts/{sponsor['support_contact_id']}/consent",
                     {"consent_to_contact": False})  # fmt: skip
    await agency.put(f"/v1/participants/{pid}/time-zone", {"time_zone": "America/Denver"})
    aid = (await agency.post(f"/v1/participants/{pid}/assessments", SELF_HARM_WITH_TRIGGERS)).json()["assessment_id"]
    cid = await agency.consent(pid, expiry={"event": "discharge"})
    referral = (await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)).json()
    revocable = await agency.consent(pid)
    await agency.post(f"/v1/participants/{pid}/consents/{revocable}/revocation")
    await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "plan_completed"})

    records = await published(intake, pid, 17)
    assert [name(r) for r in records] == [
        "ParticipantEnrolled", "SpecialistAssigned", "SpecialistAssigned", "SpecialistUnassigned",
        "SupportContactConsentChanged", "ParticipantTimeZoneChanged", "AssessmentCompleted", "SafetyConcernRaised",
        "RiskLevelChanged",
        "CoOccurringConditionFlagged", "ConsentGranted", "ReferralRequested", "ConsentGranted", "ConsentRevoked",
        "ParticipantDischarged", "ConsentExpired",
        "ReferralWithdrawn",  # the referral was still pending when discharge ended its consent
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

    moved = data(records[5])
    assert (moved["time_zone"], moved["previous_time_zone"]) == ("America/Denver", FULL_ENROLMENT.get("time_zone"))
    records = records[:5] + records[6:]  # the rest as before the time zone change

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


FULL_RISK_ASSESSMENT = {
    "phq9": {"answers": [0, 0, 0, 0, 0, 0, 0, 0, 0]},
    "bam": {"answers": [3, 3, 3, 1, 0, 2, 0, 3, 1, 1, 3, 1, 1, 1, 3, 1, 0], "substances": {"7A": 2}},
    "barc10": {"answers": [3] * 10},
    "asam": {"d1": 1, "d2": 0, "d3": 2, "d4": 1, "d5": 4, "d6": 0},
    "risk_factors": {
        "triggers": [
            {"description": "payday at the pub", "situations": ["social_pressure", "urges_and_temptations"]},
            {"description": "prefers mornings", "situations": ["negative_emotional_states"]},
        ],
        "stressors": [{"category": "housing", "description": "eviction letter"}, {"category": "legal"},
                      {"category": "finances"}],
        "history": {"prior_treatment_episodes": 4, "prior_relapses": 3, "overdose_history": True},
        "pattern_of_use": {"frequency": "daily", "using_now": True, "injects": True, "days_since_last_use": 0},
    },
}  # fmt: skip


async def test_assessment_completed_on_kafka_carries_every_score_the_triggers_and_the_risk(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/assessments", FULL_RISK_ASSESSMENT)
    assert r.status_code == 201, r.text
    stored = (await agency.get(f"/v1/participants/{pid}/assessments/{r.json()['assessment_id']}")).json()
    trigger_ids = [t["trigger_id"] for t in stored["answers"]["risk_factors"]["triggers"]]

    records = await published(intake, pid, 4)
    assert [name(r) for r in records] == ["ParticipantEnrolled", "AssessmentCompleted", "SafetyConcernRaised",
                                          "RiskLevelChanged"]  # fmt: skip
    completed, concern, changed = (data(r) for r in records[1:])
    assert completed["instruments"] == ["PHQ-9", "BAM", "BARC-10", "ASAM", "risk-factors"]
    assert completed["phq9"] == {"total": 0, "severity": "minimal", "item9": 0}
    assert completed["bam"] == {"use": 3, "risk_factors": 18, "protective_factors": 6}
    assert completed["barc10"] == {"total": 30, "predicts_sustained_remission": False}
    assert completed["asam"] == {"d1": 1, "d2": 0, "d3": 2, "d4": 1, "d5": 4, "d6": 0}
    assert completed["triggers"] == [
        {"trigger_id": trigger_ids[0], "situations": ["social_pressure", "urges_and_temptations"]},
        {"trigger_id": trigger_ids[1], "situations": ["negative_emotional_states"]},
    ]
    assert completed["stressors"] == ["housing", "legal", "finances"]
    assert completed["history"] == {"prior_treatment_episodes": 4, "prior_relapses": 3, "overdose_history": True}
    assert completed["pattern_of_use"] == {"frequency": "daily", "using_now": True, "injects": True,
                                           "days_since_last_use": 0}  # fmt: skip
    assert completed["risk_level"] == "critical"
    assert completed["risk_reasons"] == [
        "reported use now", "BAM use 3 >= 1", "BAM risk 18 >= 12", "BAM protective 6 <= 12", "BARC-10 30 < 47",
        "ASAM D5 = 4", "use frequency daily", "injection use", "overdose history", "prior relapses 3 >= 2",
        "prior treatment episodes 4 >= 3", "high-risk situations 3 >= 3", "stressors 3 >= 3",
    ]  # fmt: skip
    assert "answers" not in completed and "substances" not in str(completed)  # raw answers stay in intake
    assert (concern["concerns"], concern["phq9_item9"]) == (["using_now"], 0)
    assert (changed["previous_level"], changed["risk_level"]) == (None, "critical")
    assert changed["reasons"] == completed["risk_reasons"]
    for record in records:
        for identifier in IDENTIFIERS:
            assert identifier not in record.value.decode()


async def test_the_safety_concern_is_committed_in_the_very_transaction_of_its_assessment(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/assessments",
                          {"phq9": {"answers": [0, 0, 0, 0, 0, 0, 0, 0, 2]}})  # fmt: skip
    assert r.json()["events"] == ["AssessmentCompleted", "SafetyConcernRaised", "RiskLevelChanged"]
    pool = intake.runtime.pool
    transactions = await pool.fetch(
        "SELECT event_type, xmin::text AS tx FROM events WHERE stream_id = $1 AND event_type <> 'ParticipantEnrolled'",
        f"participant-{pid}",
    )
    assessment_tx = await pool.fetchval(
        "SELECT xmin::text FROM assessments WHERE assessment_id = $1", uuid.UUID(r.json()["assessment_id"])
    )
    assert {t["event_type"] for t in transactions} == {"AssessmentCompleted", "SafetyConcernRaised",
                                                       "RiskLevelChanged"}  # fmt: skip
    assert {t["tx"] for t in transactions} == {assessment_tx}
    records = await published(intake, pid, 4)
    concern = data(records[2])
    assert (name(records[2]), concern["concerns"], concern["phq9_item9"]) == (
        "SafetyConcernRaised",
        ["self_harm_thoughts"],
        2,
    )
    assert concern["assessment_id"] == r.json()["assessment_id"]


async def test_drafting_signing_and_amending_a_consent_publish_its_terms_never_its_words_or_signature(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/consent-drafts", agency.terms(signed=False))
    cid = r.json()["consent_id"]
    await agency.post(f"/v1/participants/{pid}/consents/{cid}/signature", {"signature": CONSENT["signature"]})
    await agency.put(f"/v1/participants/{pid}/consents/{cid}", agency.terms(purposes=["care_coordination"],
                                                                            information=["plan"]))  # fmt: skip

    records = await published(intake, pid, 4)
    assert [name(r) for r in records] == ["ParticipantEnrolled", "ConsentDrafted", "ConsentGranted", "ConsentGranted"]
    drafted, signed, amended = (data(r) for r in records[1:])
    terms = {
        "participant_id": pid,
        "consent_id": cid,
        "disclosing_agency_id": agency.id,
        "recipient_kind": "named_agency",
        "recipient_agency_ids": ["agency-mh"],
        "expires_on": "2099-12-31",
        "expiry_event": None,
    }
    first_terms = {**terms, "purposes": ["mental_health_referral"], "information": ["assessment_scores", "risk_level"]}
    assert drafted == {**first_terms, "drafted_at": drafted["drafted_at"]}
    assert signed == {**first_terms, "version": 1, "granted_at": signed["granted_at"]}
    assert (amended["version"], amended["purposes"], amended["information"]) == (2, ["care_coordination"], ["plan"])
    for record in records:
        text = record.value.decode()
        assert "Robin Quill" not in text and CONSENT["information_description"] not in text
        assert header(record, "ce_subject") == pid and header(record, "ce_dataregulation") == "42CFRPart2"
