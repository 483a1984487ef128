"""Intake's HTTP API on real PostgreSQL (and Kafka behind the outbox): every endpoint, every error."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from intake_http import CONSENT, FULL_ENROLMENT, REFERRAL, Agency, fields

from services.intake.application.consents import expire_due_consents
from shared.testing.auth import bearer

pytestmark = pytest.mark.integration

SELF_HARM = {"phq9": {"answers": [2, 2, 2, 2, 1, 1, 0, 0, 1]}}
FULL_ASSESSMENT = {
    "phq9": {"answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]},
    "gad7": {"answers": [2, 2, 2, 2, 1, 1, 1]},
    "bam": {"answers": [2, 2, 2, 1, 0, 0, 0, 2, 3, 3, 2, 3, 3, 3, 2, 3, 0], "substances": {"7E": 1}},
    "barc10": {"answers": [4] * 10},
    "asam": {"d1": 0, "d2": 1, "d3": 1, "d4": 2, "d5": 3, "d6": 1},
    "risk_factors": {
        "triggers": [{"description": "payday at the pub", "situations": ["social_pressure", "urges_and_temptations"]}],
        "stressors": [{"category": "housing", "description": "eviction letter"}],
        "history": {"prior_treatment_episodes": 1, "prior_relapses": 1, "overdose_history": False},
        "pattern_of_use": {"frequency": "monthly"},
    },
}


async def stored_events(intake, agency: Agency) -> int:
    return await intake.runtime.pool.fetchval("SELECT count(*) FROM events WHERE agency_id = $1", agency.id)


# --- enrolment and the relationship -------------------------------------------------------------


async def test_enrolment_keeps_identity_and_contacts_in_intake_and_returns_them_to_the_agency(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.get(f"/v1/participants/{pid}")
    assert r.status_code == 200
    body = r.json()
    assert body["contact"]["family_name"] == "Quill"
    assert (body["specialist_id"], body["status"], body["preferred_channel"]) == (agency.sub, "active", "sms")
    assert body["primary_substances"] == ["alcohol", "opioids"]
    assert body["preferred_hours"] == {"start": "09:00:00", "end": "18:00:00"}
    assert sorted(c["name"] for c in body["support_contacts"]) == ["Alex Sibling", "Sam Sponsor"]
    listed = (await agency.get("/v1/participants")).json()["participants"]
    assert [p["participant_id"] for p in listed] == [pid]
    assert "contact" not in listed[0]


async def test_the_participants_time_zone_is_kept_and_shown(intake):
    agency = Agency(intake.client)
    r = await agency.post("/v1/participants",
                          {**FULL_ENROLMENT, "specialist_id": agency.sub, "time_zone": "America/Chicago"})
    assert r.status_code == 201, r.text
    body = (await agency.get(f"/v1/participants/{r.json()['participant_id']}")).json()
    assert body["time_zone"] == "America/Chicago"
    stored = await intake.runtime.pool.fetchval(
        "SELECT data->>'time_zone' FROM events WHERE event_type = 'ParticipantEnrolled' AND participant_id = $1",
        uuid.UUID(r.json()["participant_id"]),
    )
    assert stored == "America/Chicago"


async def test_the_time_zone_can_be_corrected_and_the_change_is_published(intake):
    agency = Agency(intake.client)
    r = await agency.post("/v1/participants",
                          {**FULL_ENROLMENT, "specialist_id": agency.sub, "time_zone": "America/Chicago"})
    pid = r.json()["participant_id"]
    url = f"/v1/participants/{pid}/time-zone"
    changed = await agency.put(url, {"time_zone": "America/Denver"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"participant_id": pid, "time_zone": "America/Denver"}
    assert (await agency.get(f"/v1/participants/{pid}")).json()["time_zone"] == "America/Denver"
    again = await agency.put(url, {"time_zone": "America/Denver"})
    assert again.status_code == 200
    stored = await intake.runtime.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'ParticipantTimeZoneChanged' AND participant_id = $1",
        uuid.UUID(pid),
    )
    assert len(stored) == 1  # the repeat changed nothing
    bad = await agency.put(url, {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and fields(bad) == {"time_zone"}
    other = Agency(intake.client)
    elsewhere = await other.put(url, {"time_zone": "UTC"})
    assert elsewhere.status_code == 404


async def test_a_display_name_and_a_specialist_are_enough_to_enrol(intake):
    agency = Agency(intake.client)
    r = await agency.post("/v1/participants", {"display_name": "Sam", "specialist_id": "s-1"})
    assert r.status_code == 201
    assert r.json()["waiting_for_specialist"] is False


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**FULL_ENROLMENT, "preferred_channel": "email", "contact": {"given_name": "R", "family_name": "Q"}},
         {"contact"}),
        ({**FULL_ENROLMENT, "support_contacts": [{"name": "A", "relation": "friend", "channel": "sms",
                                                  "consent_to_contact": True}]}, {"support_contacts.0.phone"}),
        ({**FULL_ENROLMENT, "recovery_start_date": "soon", "preferred_channel": "fax"},
         {"recovery_start_date", "preferred_channel"}),
        ({"specialist_id": "s-1"}, {"contact"}),
        ({**FULL_ENROLMENT, "participant_id": str(uuid.uuid4())}, {"participant_id"}),
        ({**FULL_ENROLMENT, "time_zone": "Atlantis/Central"}, {"time_zone"}),
    ],
)  # fmt: skip
async def test_a_bad_enrolment_is_422_naming_each_field_and_stores_nothing(intake, body, named):
    agency = Agency(intake.client)
    r = await agency.post("/v1/participants", body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert fields(r) == named
    assert await stored_events(intake, agency) == 0


async def test_a_recovery_start_date_in_the_future_is_422(intake):
    agency = Agency(intake.client)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    r = await agency.post("/v1/participants", {**FULL_ENROLMENT, "recovery_start_date": tomorrow})
    assert r.status_code == 422
    assert fields(r) == {"recovery_start_date"}
    assert await stored_events(intake, agency) == 0


async def test_requests_without_a_token_are_401_and_with_the_wrong_role_403(intake):
    r = await intake.client.post("/v1/participants", json=FULL_ENROLMENT)
    assert r.status_code == 401
    r = await intake.client.post("/v1/participants", json=FULL_ENROLMENT,
                                 headers=bearer(roles=("participant",)))  # fmt: skip
    assert r.status_code == 403


async def test_another_agencys_participant_looks_exactly_like_a_missing_one(intake):
    owner, stranger = Agency(intake.client), Agency(intake.client)
    pid = await owner.enrol()
    for path in ("", "/assessments", "/consents", "/disclosures"):
        theirs = await stranger.get(f"/v1/participants/{pid}{path}")
        missing = await stranger.get(f"/v1/participants/{uuid.uuid4()}{path}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
    r = await stranger.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "x"})
    assert r.status_code == 404


async def test_the_queue_holds_participants_without_a_specialist_until_one_is_assigned(intake):
    agency = Agency(intake.client)
    waiting = await agency.enrol(specialist_id=None)
    await agency.enrol()
    queue = (await agency.get("/v1/assignment-queue")).json()["waiting"]
    assert [p["participant_id"] for p in queue] == [waiting]

    r = await agency.put(f"/v1/participants/{waiting}/specialist", {"specialist_id": "spec-2"})
    assert r.status_code == 200
    assert r.json()["specialist_id"] == "spec-2"
    assert (await agency.get("/v1/assignment-queue")).json()["waiting"] == []

    r = await agency.put(f"/v1/participants/{waiting}/specialist", {"specialist_id": "spec-3"})  # transfer
    assert r.json()["specialist_id"] == "spec-3"
    assert [
        p["participant_id"]
        for p in (await agency.get("/v1/participants", specialist_id="spec-3")).json()["participants"]
    ] == [waiting]

    r = await agency.delete(f"/v1/participants/{waiting}/specialist")
    assert (r.status_code, r.json()["waiting_for_specialist"]) == (200, True)
    assert [p["participant_id"] for p in (await agency.get("/v1/assignment-queue")).json()["waiting"]] == [waiting]
    r = await agency.delete(f"/v1/participants/{waiting}/specialist")
    assert r.status_code == 409


async def test_assigning_needs_a_specialist_id(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": ""})
    assert (r.status_code, fields(r)) == (422, {"specialist_id"})


async def test_support_contact_consent_can_be_withdrawn_and_unknown_contacts_are_404(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    contacts = (await agency.get(f"/v1/participants/{pid}")).json()["support_contacts"]
    sponsor = next(c for c in contacts if c["name"] == "Sam Sponsor")
    path = f"/v1/participants/{pid}/support-contacts/{sponsor['support_contact_id']}/consent"
    r = await agency.put(path, {"consent_to_contact": False})
    assert r.status_code == 200
    contacts = (await agency.get(f"/v1/participants/{pid}")).json()["support_contacts"]
    assert next(c for c in contacts if c["name"] == "Sam Sponsor")["consent_to_contact"] is False
    r = await agency.put(f"/v1/participants/{pid}/support-contacts/{uuid.uuid4()}/consent",
                         {"consent_to_contact": True})  # fmt: skip
    assert (r.status_code, fields(r)) == (404, {"support_contact_id"})
    r = await agency.put(path, {"consent_to_contact": "perhaps"})
    assert (r.status_code, fields(r)) == (422, {"consent_to_contact"})


async def test_discharge_ends_the_relationship(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "graduated"})
    assert (r.status_code, fields(r)) == (422, {"reason"})
    r = await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "plan_completed"})
    assert (r.status_code, r.json()["status"]) == (200, "discharged")
    assert (await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "other"})).status_code == 409
    assert (await agency.post(f"/v1/participants/{pid}/assessments", SELF_HARM)).status_code == 409
    assert (await agency.get(f"/v1/participants/{pid}")).json()["discharge_reason"] == "plan_completed"


# --- assessments --------------------------------------------------------------------------------


async def test_an_assessment_is_scored_explained_and_kept_with_its_raw_answers(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/assessments", FULL_ASSESSMENT)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["scores"]["bam"] == {"use": 1, "risk_factors": 12, "protective_factors": 18}
    assert created["scores"]["gad7"] == {"total": 11, "severity": "moderate"}
    assert created["risk_level"] == "high"
    assert created["risk_reasons"] == ["BAM use 1 >= 1", "BAM risk 12 >= 12", "BARC-10 40 < 47", "ASAM D5 = 3",
                                       "GAD-7 11 >= 10"]  # fmt: skip
    assert created["events"] == ["AssessmentCompleted", "RiskLevelChanged", "CoOccurringConditionFlagged"]

    one = (await agency.get(f"/v1/participants/{pid}/assessments/{created['assessment_id']}")).json()
    assert one["answers"]["bam"]["answers"] == FULL_ASSESSMENT["bam"]["answers"]
    assert one["answers"]["risk_factors"]["triggers"][0]["description"] == "payday at the pub"
    assert one["scores"]["phq9"] == {"total": 8, "severity": "mild", "item9": 0}
    assert (one["risk_level"], one["risk_reasons"]) == ("high", created["risk_reasons"])
    listed = (await agency.get(f"/v1/participants/{pid}/assessments")).json()["assessments"]
    assert [a["assessment_id"] for a in listed] == [created["assessment_id"]]
    profile = (await agency.get(f"/v1/participants/{pid}")).json()
    assert (profile["risk_level"], profile["risk_reasons"]) == ("high", created["risk_reasons"])


async def test_phq9_item_9_makes_the_risk_critical_and_raises_a_safety_concern(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/assessments", SELF_HARM)
    assert r.json()["risk_level"] == "critical"
    assert r.json()["events"] == ["AssessmentCompleted", "SafetyConcernRaised", "RiskLevelChanged",
                                  "CoOccurringConditionFlagged"]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"phq9": {"answers": [0] * 8}}, {"phq9.answers"}),
        ({"phq9": {"answers": [0] * 8 + [4]}}, {"phq9.answers.8"}),
        ({"gad7": {"answers": [9, 0, 0, 0, 0, 0, -1]}}, {"gad7.answers.0", "gad7.answers.6"}),
        ({"bam": {"answers": [0] * 17, "substances": {"7Z": 1}}}, {"bam.substances.7Z.[key]"}),
        ({"barc10": {"answers": [0] * 10}}, {f"barc10.answers.{i}" for i in range(10)}),
        ({"asam": {"d1": 0, "d2": 0, "d3": 0, "d4": 0, "d5": 5}}, {"asam.d5", "asam.d6"}),
        ({"audit_c": {"answers": [1, 2, 3]}}, {"audit_c"}),
        ({}, {"body"}),
        ({"risk_factors": {"triggers": [{"description": "x", "situations": ["boredom"]}]}},
         {"risk_factors.triggers.0.situations.0"}),
    ],
)  # fmt: skip
async def test_a_bad_assessment_is_422_naming_each_field_and_stores_and_publishes_nothing(intake, body, named):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    before = await stored_events(intake, agency)
    r = await agency.post(f"/v1/participants/{pid}/assessments", body)
    assert r.status_code == 422, r.text
    assert fields(r) == named
    assert await stored_events(intake, agency) == before
    assert (await agency.get(f"/v1/participants/{pid}/assessments")).json()["assessments"] == []


async def test_assessing_an_unknown_participant_is_404_and_an_unknown_assessment_too(intake):
    agency = Agency(intake.client)
    r = await agency.post(f"/v1/participants/{uuid.uuid4()}/assessments", SELF_HARM)
    assert (r.status_code, fields(r)) == (404, {"participant_id"})
    pid = await agency.enrol()
    r = await agency.get(f"/v1/participants/{pid}/assessments/{uuid.uuid4()}")
    assert (r.status_code, fields(r)) == (404, {"assessment_id"})
    r = await agency.get(f"/v1/participants/{pid}/assessments/{uuid.uuid4()}/fhir")
    assert r.status_code == 404


async def test_an_assessment_exports_as_fhir_for_staff_and_integrations(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    aid = (await agency.post(f"/v1/participants/{pid}/assessments", FULL_ASSESSMENT)).json()["assessment_id"]
    integration = bearer(sub="emr-bridge", agency_id=agency.id, roles=("integration",))
    r = await intake.client.get(f"/v1/participants/{pid}/assessments/{aid}/fhir", headers=integration)
    assert r.status_code == 200
    bundle = r.json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "QuestionnaireResponse"
    codes = {e["resource"]["code"]["coding"][0]["code"]: e["resource"]["valueInteger"]
             for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"}  # fmt: skip
    assert (codes["44261-6"], codes["70274-6"]) == (8, 11)
    assert "payday at the pub" not in r.text


# --- consents, referrals and the disclosure ledger ---------------------------------------------


async def test_a_consent_is_granted_amended_and_revoked(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    cid = await agency.consent(pid)
    one = (await agency.get(f"/v1/participants/{pid}/consents/{cid}")).json()
    assert (one["status"], one["version"], one["signature"]["signed_by"]) == ("active", 1, "Robin Quill")
    assert one["information_description"] == "scores and risk level from intake"
    r = await agency.put(f"/v1/participants/{pid}/consents/{cid}", agency.terms(purposes=["care_coordination"]))
    assert (r.status_code, r.json()["version"]) == (200, 2)
    r = await agency.post(f"/v1/participants/{pid}/consents/{cid}/revocation")
    assert (r.status_code, r.json()["status"]) == (200, "revoked")
    assert (await agency.post(f"/v1/participants/{pid}/consents/{cid}/revocation")).status_code == 409
    listed = (await agency.get(f"/v1/participants/{pid}/consents")).json()["consents"]
    assert [(c["consent_id"], c["status"], c["version"]) for c in listed] == [(cid, "revoked", 2)]


async def test_a_drafted_consent_is_signed_into_force(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    draft = agency.terms(signed=False)
    r = await agency.post(f"/v1/participants/{pid}/consent-drafts", draft)
    assert (r.status_code, r.json()["status"]) == (201, "draft")
    cid = r.json()["consent_id"]
    r = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
    assert r.status_code == 404  # a draft discloses nothing
    r = await agency.post(f"/v1/participants/{pid}/consents/{cid}/signature", {"signature": CONSENT["signature"]})
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "active", 1)
    r = await agency.post(f"/v1/participants/{pid}/consents/{cid}/signature", {"signature": CONSENT["signature"]})
    assert r.status_code == 409


@pytest.mark.parametrize("element", ["disclosing_agency_id", "information", "recipients", "purposes",
                                     "right_to_revoke_acknowledged", "expiry", "signature"])  # fmt: skip
async def test_a_consent_missing_a_required_element_is_422_naming_it_and_stores_nothing(intake, element):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    before = await stored_events(intake, agency)
    r = await agency.post(f"/v1/participants/{pid}/consents", {k: v for k, v in agency.terms().items() if k != element})
    assert (r.status_code, fields(r)) == (422, {element})
    assert await stored_events(intake, agency) == before


async def test_every_missing_consent_element_is_named_at_once(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/consents", {"information": ["risk_level"]})
    assert fields(r) == {"disclosing_agency_id", "recipients", "purposes", "right_to_revoke_acknowledged",
                         "expiry", "signature"}  # fmt: skip


async def test_a_consent_naming_another_disclosing_agency_is_422_and_stores_nothing(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    before = await stored_events(intake, agency)
    for path, body in (
        (f"/v1/participants/{pid}/consents", agency.terms(disclosing_agency_id="agency-elsewhere")),
        (f"/v1/participants/{pid}/consent-drafts", agency.terms(signed=False, disclosing_agency_id="agency-elsewhere")),
    ):
        r = await agency.post(path, body)
        assert (r.status_code, fields(r)) == (422, {"disclosing_agency_id"})
    cid = await agency.consent(pid)
    r = await agency.put(f"/v1/participants/{pid}/consents/{cid}", agency.terms(disclosing_agency_id="agency-x"))
    assert (r.status_code, fields(r)) == (422, {"disclosing_agency_id"})
    assert await stored_events(intake, agency) == before + 1  # only the valid grant
    listed = (await agency.get(f"/v1/participants/{pid}/consents")).json()["consents"]
    assert [(c["consent_id"], c["version"], c["disclosing_agency_id"]) for c in listed] == [(cid, 1, agency.id)]


async def test_an_unknown_consent_is_404(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    for r in (
        await agency.get(f"/v1/participants/{pid}/consents/{uuid.uuid4()}"),
        await agency.post(f"/v1/participants/{pid}/consents/{uuid.uuid4()}/revocation"),
        await agency.put(f"/v1/participants/{pid}/consents/{uuid.uuid4()}", agency.terms()),
    ):
        assert (r.status_code, fields(r)) == (404, {"consent_id"})


async def test_a_referral_needs_a_covering_consent_and_is_written_to_the_ledger(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    no_consent = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
    nobody = await agency.post(f"/v1/participants/{uuid.uuid4()}/referrals", REFERRAL)
    assert no_consent.status_code == nobody.status_code == 404
    assert no_consent.json() == nobody.json()

    cid = await agency.consent(pid)
    wrong_purpose = await agency.post(f"/v1/participants/{pid}/referrals", {**REFERRAL, "purpose": "payment"})
    assert wrong_purpose.json() == nobody.json()
    r = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
    assert r.status_code == 201, r.text
    referral = r.json()
    assert (referral["consent_id"], referral["recipient_agency_id"]) == (cid, "agency-mh")
    assert "42 CFR part 2" in referral["redisclosure_notice"]

    ledger = (await agency.get(f"/v1/participants/{pid}/disclosures", years=3)).json()["disclosures"]
    assert ledger == []  # requested, not yet disclosed: nobody at the recipient has seen it
    await Agency(intake.client, agency_id="agency-mh").shown(referral["referral_id"])
    ledger = (await agency.get(f"/v1/participants/{pid}/disclosures", years=3)).json()["disclosures"]
    assert [(d["referral_id"], d["consent_id"], d["purpose"], d["information"]) for d in ledger] == [
        (referral["referral_id"], cid, "mental_health_referral", ["risk_level"])
    ]
    await agency.post(f"/v1/participants/{pid}/consents/{cid}/revocation")
    after_revocation = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
    assert after_revocation.json() == nobody.json()


async def test_a_malformed_referral_is_422_naming_each_field(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/referrals", {"purpose": "marketing", "information": []})
    assert (r.status_code, fields(r)) == (422, {"recipient_agency_id", "purpose", "information"})


async def test_the_disclosure_ledger_is_append_only(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    await agency.consent(pid)
    rid = (await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)).json()["referral_id"]
    await Agency(intake.client, agency_id="agency-mh").shown(rid)
    for statement in ("UPDATE disclosures SET purpose = 'payment'", "DELETE FROM disclosures"):
        with pytest.raises(asyncpg.RaiseError):
            await intake.runtime.pool.execute(statement)
    assert len((await agency.get(f"/v1/participants/{pid}/disclosures")).json()["disclosures"]) == 1


async def test_reads_of_a_participants_record_are_written_to_the_access_log(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    await agency.get(f"/v1/participants/{pid}")
    await agency.get(f"/v1/participants/{pid}/assessments")
    actions = await intake.runtime.pool.fetch(
        "SELECT action FROM access_log WHERE participant_id = $1 ORDER BY id", uuid.UUID(pid)
    )
    assert [a["action"] for a in actions] == ["read participant", "list assessments"]


async def test_the_expiry_sweep_expires_consents_past_their_date(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    cid = await agency.consent(pid, expiry={"on": (datetime.now(UTC) + timedelta(days=1)).date().isoformat()})
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    assert await expire_due_consents(intake.runtime.uow, intake.runtime.pool, in_a_week) >= 1
    one = (await agency.get(f"/v1/participants/{pid}/consents/{cid}")).json()
    assert one["status"] == "expired"
    types = await intake.runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version", f"consent-{cid}"
    )
    assert [t["event_type"] for t in types] == ["ConsentGranted", "ConsentExpired"]


async def test_discharge_expires_consents_that_end_at_discharge(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    cid = await agency.consent(pid, expiry={"event": "discharge"})
    await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "moved_away"})
    assert (await agency.get(f"/v1/participants/{pid}/consents/{cid}")).json()["status"] == "expired"


async def test_participants_can_be_listed_by_status(intake):
    agency = Agency(intake.client)
    staying, leaving = await agency.enrol(), await agency.enrol()
    await agency.post(f"/v1/participants/{leaving}/discharge", {"reason": "moved_away"})
    active = (await agency.get("/v1/participants", status="active")).json()["participants"]
    discharged = (await agency.get("/v1/participants", status="discharged")).json()["participants"]
    assert ([p["participant_id"] for p in active], [p["participant_id"] for p in discharged]) == (
        [staying],
        [leaving],
    )


async def test_consent_dates_are_checked_against_today(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    r = await agency.post(f"/v1/participants/{pid}/consents", agency.terms(expiry={"on": yesterday}))
    assert (r.status_code, fields(r)) == (422, {"expiry.on"})
    r = await agency.post(
        f"/v1/participants/{pid}/consents", agency.terms(signature={**CONSENT["signature"], "signed_on": tomorrow})
    )
    assert (r.status_code, fields(r)) == (422, {"signature.signed_on"})
    assert (await agency.get(f"/v1/participants/{pid}/consents")).json()["consents"] == []


async def test_state_conflicts_are_409(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    cid = await agency.consent(pid)
    await agency.post(f"/v1/participants/{pid}/consents/{cid}/revocation")
    r = await agency.put(f"/v1/participants/{pid}/consents/{cid}", agency.terms())
    assert (r.status_code, fields(r)) == (409, {"consent_id"})
    await agency.consent(pid)
    await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "other"})
    r = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
    assert (r.status_code, fields(r)) == (409, {"participant_id"})
    r = await agency.put(f"/v1/participants/{pid}/specialist", {"specialist_id": "spec-9"})
    assert r.status_code == 409


async def test_bad_drafts_signatures_and_ledger_queries_are_422(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    r = await agency.post(f"/v1/participants/{pid}/consent-drafts", {"purposes": ["treatment"]})
    assert r.status_code == 422
    assert {"disclosing_agency_id", "information", "recipients", "expiry"} <= fields(r)
    r = await agency.post(f"/v1/participants/{pid}/consents/{uuid.uuid4()}/signature", {"signature": {}})
    assert (r.status_code, fields(r)) == (422, {"signature.signed_by", "signature.method", "signature.signed_on"})
    r = await agency.post(f"/v1/participants/{pid}/consents/{uuid.uuid4()}/signature",
                          {"signature": CONSENT["signature"]})  # fmt: skip
    assert (r.status_code, fields(r)) == (404, {"consent_id"})
    r = await agency.get(f"/v1/participants/{pid}/disclosures", years=0)
    assert (r.status_code, fields(r)) == (422, {"query.years"})


async def test_the_openapi_document_describes_every_intake_route(intake):
    paths = (await intake.client.get("/openapi.json")).json()["paths"]
    for path in ("/v1/participants", "/v1/assignment-queue", "/v1/participants/{participant_id}/assessments",
                 "/v1/participants/{participant_id}/consents", "/v1/participants/{participant_id}/referrals",
                 "/v1/participants/{participant_id}/disclosures",
                 "/v1/participants/{participant_id}/access-log"):  # fmt: skip
        assert path in paths
    schema = paths["/v1/participants/{participant_id}/assessments"]["post"]["requestBody"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith("/AssessmentForm")


async def test_after_discharge_consents_can_only_be_revoked(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    active = await agency.consent(pid)
    draft = (await agency.post(f"/v1/participants/{pid}/consent-drafts", agency.terms(signed=False))).json()
    await agency.post(f"/v1/participants/{pid}/discharge", {"reason": "moved_away"})
    before = await stored_events(intake, agency)
    for r in (
        await agency.post(f"/v1/participants/{pid}/consents", agency.terms()),
        await agency.post(f"/v1/participants/{pid}/consent-drafts", agency.terms(signed=False)),
        await agency.put(f"/v1/participants/{pid}/consents/{active}", agency.terms(purposes=["treatment"])),
        await agency.post(
            f"/v1/participants/{pid}/consents/{draft['consent_id']}/signature", {"signature": CONSENT["signature"]}
        ),
    ):
        assert (r.status_code, fields(r)) == (409, {"participant_id"}), r.text
    assert await stored_events(intake, agency) == before
    r = await agency.post(f"/v1/participants/{pid}/consents/{active}/revocation")
    assert (r.status_code, r.json()["status"]) == (200, "revoked")


async def test_listing_by_an_unknown_status_is_422(intake):
    agency = Agency(intake.client)
    r = await agency.get("/v1/participants", status="sleeping")
    assert (r.status_code, fields(r)) == (422, {"query.status"})


async def test_the_disclosure_ledger_answers_for_the_last_three_and_six_years(intake):
    agency = Agency(intake.client)
    pid = await agency.enrol()
    cid = await agency.consent(pid)
    recent = (await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)).json()["referral_id"]
    await Agency(intake.client, agency_id="agency-mh").shown(recent)
    now = datetime.now(UTC)
    ages = {"two years": 2 * 365, "four years": 4 * 365, "seven years": 7 * 365}
    old = {}
    for label, days in ages.items():
        old[label] = uuid.uuid4()
        await intake.runtime.pool.execute(
            "INSERT INTO disclosures (disclosure_id, participant_id, agency_id, disclosed_at, recipient_agency_id,"
            " purpose, information, consent_id, consent_version) VALUES ($1, $2, $3, $4, 'agency-mh',"
            " 'mental_health_referral', '[\"risk_level\"]'::jsonb, $5, 1)",
            old[label],
            uuid.UUID(pid),
            agency.id,
            now - timedelta(days=days),
            uuid.UUID(cid),
        )

    async def ledger(**params):
        r = await agency.get(f"/v1/participants/{pid}/disclosures", **params)
        assert r.status_code == 200
        return [d["disclosure_id"] for d in r.json()["disclosures"]]

    assert await ledger(years=3) == [recent, str(old["two years"])]
    assert await ledger(years=6) == [recent, str(old["two years"]), str(old["four years"])]
    assert await ledger() == [recent, str(old["two years"]), str(old["four years"]), str(old["seven years"])]


async def test_the_queue_puts_the_longest_wait_first_and_leaves_out_the_discharged(intake):
    agency = Agency(intake.client)
    first = await agency.enrol(specialist_id=None)
    second = await agency.enrol(specialist_id=None)
    assigned = await agency.enrol()
    leaving = await agency.enrol(specialist_id=None)

    async def queue() -> list[str]:
        return [p["participant_id"] for p in (await agency.get("/v1/assignment-queue")).json()["waiting"]]

    assert await queue() == [first, second, leaving]
    await agency.post(f"/v1/participants/{leaving}/discharge", {"reason": "declined_support"})
    await agency.delete(f"/v1/participants/{assigned}/specialist")  # back to the queue: waits from now
    assert await queue() == [first, second, assigned]
    await agency.put(f"/v1/participants/{first}/specialist", {"specialist_id": "spec-7"})
    assert await queue() == [second, assigned]
    r = await agency.delete(f"/v1/participants/{leaving}/specialist")
    assert (r.status_code, fields(r)) == (409, {"participant_id"})


async def test_a_consent_whose_stream_cannot_be_read_is_set_aside_and_the_others_expire(intake):
    from prometheus_client import REGISTRY

    from services.intake.application.consents import CONSENT_EXPIRY

    agency = Agency(intake.client)
    pid = await agency.enrol()
    soon = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    broken = await agency.consent(pid, expiry={"on": soon})
    fine = await agency.consent(pid, expiry={"on": later})
    pool = intake.runtime.pool
    await pool.execute(  # an event type this version does not know: the stream cannot be folded
        "INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,"
        " agency_id, participant_id, occurred_at, data, metadata)"
        " SELECT stream_id, stream_type, max(stream_version) + 1, $2, 'NoSuchEventType', 1, min(agency_id),"
        " min(participant_id::text)::uuid, now(), '{}'::jsonb, '{}'::jsonb FROM events WHERE stream_id = $1"
        " GROUP BY stream_id, stream_type",
        f"consent-{broken}", uuid.uuid4(),
    )
    before = REGISTRY.get_sample_value("waypoint_poll_rows_set_aside_total", {"loop": CONSENT_EXPIRY}) or 0.0
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    assert await expire_due_consents(intake.runtime.uow, pool, in_a_week) >= 1
    assert (await agency.get(f"/v1/participants/{pid}/consents/{fine}")).json()["status"] == "expired"
    aside = await pool.fetchrow("SELECT * FROM set_aside WHERE loop = $1 AND row_key = $2", CONSENT_EXPIRY, broken)
    assert "NoSuchEventType" in aside["reason"]
    assert REGISTRY.get_sample_value("waypoint_poll_rows_set_aside_total", {"loop": CONSENT_EXPIRY}) == before + 1
    assert await expire_due_consents(intake.runtime.uow, pool, in_a_week) == 0  # not claimed again


async def test_the_agency_specialists_are_listed_with_their_caseload_sizes_and_paged(intake):
    agency = Agency(intake.client, roles=("supervisor",))
    for specialist in ("spec-b", "spec-a", "spec-b"):
        await agency.enrol(specialist_id=specialist)
    await agency.enrol(specialist_id=None)  # waiting: nobody's
    leaving = await agency.enrol(specialist_id="spec-c")
    r = await agency.post(f"/v1/participants/{leaving}/discharge", {"reason": "other"})
    assert r.status_code == 200, r.text

    listed = (await agency.get("/v1/specialists")).json()
    assert listed == {
        "specialists": [
            {"specialist_id": "spec-a", "active_participants": 1, "discharged_participants": 0},
            {"specialist_id": "spec-b", "active_participants": 2, "discharged_participants": 0},
            {"specialist_id": "spec-c", "active_participants": 0, "discharged_participants": 1},
        ],
        "next_offset": None,
    }
    first = (await agency.get("/v1/specialists", limit=2)).json()
    rest = (await agency.get("/v1/specialists", limit=2, offset=first["next_offset"])).json()
    assert [s["specialist_id"] for s in first["specialists"] + rest["specialists"]] == ["spec-a", "spec-b", "spec-c"]
    assert (await Agency(intake.client).get("/v1/specialists")).json()["specialists"] == []  # another agency's


async def test_the_instrument_catalogue_builds_a_form_the_assessment_endpoint_accepts(intake):
    agency = Agency(intake.client)
    r = await agency.get("/v1/instruments")
    assert r.status_code == 200, r.text
    phq9 = next(i for i in r.json()["instruments"] if i["key"] == "phq9")
    answers = [item["choices"][1]["value"] for item in phq9["items"]]  # "Several days" throughout
    pid = await agency.enrol()
    recorded = await agency.post(f"/v1/participants/{pid}/assessments", {"phq9": {"answers": answers}})
    assert recorded.status_code == 201, recorded.text
    band = next(b for b in phq9["total"]["bands"] if b["min"] <= 9 <= b["max"])
    assert recorded.json()["scores"]["phq9"] == {"total": 9, "severity": band["severity"], "item9": 1}
    assert "SafetyConcernRaised" in recorded.json()["events"]  # item 9 above 0, as the catalogue says


async def test_participants_are_looked_up_by_id_for_one_caseload_page(intake):
    agency = Agency(intake.client)
    first, second, third = [await agency.enrol(display_name=name) for name in ("Ana", "Ben", "Cy")]
    stranger = Agency(intake.client)
    theirs = await stranger.enrol(display_name="Dee")

    r = await intake.client.get(
        "/v1/participants", headers=agency.auth,
        params=[("participant_id", third), ("participant_id", first), ("participant_id", theirs)],
    )
    assert r.status_code == 200, r.text
    assert [(p["participant_id"], p["display_name"]) for p in r.json()["participants"]] == [
        (first, "Ana"), (third, "Cy")
    ]  # another agency's id is simply not found
    assert second not in r.text and "contact" not in r.json()["participants"][0]
    bad = await intake.client.get("/v1/participants", headers=agency.auth, params={"participant_id": "not-a-uuid"})
    assert bad.status_code == 422
    too_many = [("participant_id", str(uuid.uuid4())) for _ in range(501)]
    assert (await intake.client.get("/v1/participants", headers=agency.auth, params=too_many)).status_code == 422
