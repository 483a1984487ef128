"""A partner agency's referral inbox on real PostgreSQL and Kafka: B sees only what the consent
allows, accepts (enrolment linked to the referral and consent) or declines; A sees the outcome;
both ledgers; a revocation before acceptance withdraws the referral."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from intake_http import CONSENT, FULL_ENROLMENT, IDENTIFIERS, Agency

from shared.cloudevents import topic_for
from shared.testing.kafka import collect, header

pytestmark = [pytest.mark.integration]


async def referred(intake, *, consented=("enrolment", "assessment_scores", "risk_level"),
                   asked=("enrolment", "risk_level")):
    """Agency A enrols Robin, records a PHQ-9, consents to disclosure to B, and refers Robin to B."""
    a, b = Agency(intake.client), Agency(intake.client)
    pid = await a.enrol()
    r = await a.post(f"/v1/participants/{pid}/assessments", {"phq9": {"answers": [2, 1, 2, 1, 1, 2, 1, 1, 0]}})
    assert r.status_code == 201, r.text
    terms = {**CONSENT, "disclosing_agency_id": a.id, "information": list(consented),
             "recipients": {"kind": "named_agency", "agency_ids": [b.id]}, "purposes": ["care_coordination"]}
    cid = await a.consent(pid, **terms)
    r = await a.post(f"/v1/participants/{pid}/referrals",
                     {"recipient_agency_id": b.id, "purpose": "care_coordination", "information": list(asked),
                      "note": "prefers mornings"})
    assert r.status_code == 201, r.text
    return a, b, pid, cid, r.json()["referral_id"]


async def test_b_sees_only_the_consented_categories_and_accepting_enrols_the_person_in_b(intake_service,
                                                                                     kafka_bootstrap):
    a, b, pid, cid, rid = await referred(intake_service)
    inbox = (await b.get("/v1/referrals/incoming")).json()["referrals"]
    assert [r["referral_id"] for r in inbox] == [rid]
    (entry,) = inbox
    assert entry["status"] == "pending" and entry["disclosing_agency_id"] == a.id and entry["consent_id"] == cid
    assert "42 CFR part 2" in entry["redisclosure_notice"]
    assert set(entry["disclosed"]) == {"enrolment", "risk_level"}  # consented, asked: not the assessment scores
    assert entry["disclosed"]["enrolment"]["display_name"] == FULL_ENROLMENT["display_name"]
    assert entry["disclosed"]["risk_level"]["level"]
    text = json.dumps(entry)
    leaked = [i for i in IDENTIFIERS if i in text and i not in ("Robin", "prefers mornings")]
    assert not leaked and pid not in text  # no contact details, support contacts or A's participant id
    # another agency sees nothing and cannot act on it
    c = Agency(intake_service.client)
    assert (await c.get("/v1/referrals/incoming")).json()["referrals"] == []
    assert (await c.post(f"/v1/referrals/incoming/{rid}/accept", {})).status_code == 404
    assert (await a.post(f"/v1/referrals/incoming/{rid}/accept", {})).status_code == 404  # A is not the recipient

    r = await b.post(f"/v1/referrals/incoming/{rid}/accept", {"specialist_id": b.sub})
    assert r.status_code == 201, r.text
    new_pid = r.json()["participant_id"]
    person = (await b.get(f"/v1/participants/{new_pid}")).json()
    assert person["display_name"] == "Robin" and person["recovery_start_date"] == "2026-03-01"
    assert "+15550123" not in json.dumps(person) and "Quill" not in json.dumps(person)
    assert (await a.get(f"/v1/participants/{new_pid}")).status_code == 404  # B's record, not A's
    assert (await b.post(f"/v1/referrals/incoming/{rid}/accept", {})).status_code == 409

    outgoing = (await a.get(f"/v1/participants/{pid}/referrals")).json()["referrals"]
    assert [(o["referral_id"], o["status"]) for o in outgoing] == [(rid, "accepted")] and outgoing[0]["decided_at"]
    agency_wide = (await a.get("/v1/referrals/outgoing")).json()["referrals"]
    assert [(o["referral_id"], o["participant_id"], o["status"]) for o in agency_wide] == [(rid, pid, "accepted")]
    assert (await a.get("/v1/referrals/outgoing", status="pending")).json()["referrals"] == []
    assert (await b.get("/v1/referrals/outgoing")).json()["referrals"] == []
    assert (await b.get("/v1/referrals/incoming")).json()["referrals"] == []
    accepted = (await b.get("/v1/referrals/incoming", status="accepted")).json()["referrals"]
    assert accepted[0]["enrolled_participant_id"] == new_pid

    sent = (await a.get(f"/v1/participants/{pid}/disclosures")).json()["disclosures"]
    assert [(d["direction"], d["recipient_agency_id"], d["referral_id"]) for d in sent] == [("sent", b.id, rid)]
    received = (await b.get(f"/v1/participants/{new_pid}/disclosures")).json()["disclosures"]
    assert [(d["direction"], d["source_agency_id"], d["referral_id"], d["consent_id"], d["information"])
            for d in received] == [("received", a.id, rid, cid, ["enrolment", "risk_level"])]

    records = await collect(kafka_bootstrap, topic_for("intake"),
                            lambda rec: header(rec, "ce_type") in ("waypoint.intake.ReferralAccepted.v1",
                                                                   "waypoint.intake.ParticipantEnrolled.v1")
                            and rid in (rec.value or b"").decode(), count=2)
    by_type = {header(rec, "ce_type").split(".")[2]: rec for rec in records}
    assert set(by_type) == {"ReferralAccepted", "ParticipantEnrolled"} and len(records) == 2
    assert header(by_type["ReferralAccepted"], "ce_agencyid") == a.id
    assert header(by_type["ReferralAccepted"], "ce_subject") == pid
    enrolled = json.loads(by_type["ParticipantEnrolled"].value)
    assert header(by_type["ParticipantEnrolled"], "ce_agencyid") == b.id
    assert (enrolled["participant_id"], enrolled["referral_id"], enrolled["referral_consent_id"]) == (new_pid, rid, cid)


async def test_b_declines_with_a_reason_and_a_sees_it(intake_service, kafka_bootstrap):
    a, b, pid, _, rid = await referred(intake_service)
    bad = await b.post(f"/v1/referrals/incoming/{rid}/decline", {"reason": "busy"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    r = await b.post(f"/v1/referrals/incoming/{rid}/decline", {"reason": "no_capacity", "note": "waitlist full"})
    assert r.status_code == 200, r.text
    outgoing = (await a.get(f"/v1/participants/{pid}/referrals")).json()["referrals"]
    assert [(o["status"], o["decline_reason"]) for o in outgoing] == [("declined", "no_capacity")]
    assert (await b.post(f"/v1/referrals/incoming/{rid}/accept", {})).status_code == 409
    declined = (await b.get("/v1/referrals/incoming", status="declined")).json()["referrals"]
    assert declined[0]["decline_note"] == "waitlist full"
    (record,) = await collect(kafka_bootstrap, topic_for("intake"),
                              lambda rec: header(rec, "ce_type") == "waypoint.intake.ReferralDeclined.v1"
                              and rid in (rec.value or b"").decode())
    assert json.loads(record.value)["reason"] == "no_capacity" and b"waitlist" not in record.value


async def test_a_consent_revoked_before_acceptance_withdraws_the_referral_from_b(intake_service, kafka_bootstrap):
    a, b, pid, cid, rid = await referred(intake_service)
    assert len((await b.get("/v1/referrals/incoming")).json()["referrals"]) == 1
    r = await a.post(f"/v1/participants/{pid}/consents/{cid}/revocation")
    assert r.status_code == 200, r.text
    assert (await b.get("/v1/referrals/incoming", status="all")).json()["referrals"] == []
    assert (await b.get(f"/v1/referrals/incoming/{rid}")).status_code == 404
    assert (await b.post(f"/v1/referrals/incoming/{rid}/accept", {})).status_code == 404
    outgoing = (await a.get(f"/v1/participants/{pid}/referrals")).json()["referrals"]
    assert [(o["status"], o["withdrawal_reason"]) for o in outgoing] == [("withdrawn", "consent_revoked")]
    (record,) = await collect(kafka_bootstrap, topic_for("intake"),
                              lambda rec: header(rec, "ce_type") == "waypoint.intake.ReferralWithdrawn.v1"
                              and rid in (rec.value or b"").decode())
    assert header(record, "ce_agencyid") == a.id


async def test_without_consent_to_the_enrolment_details_nothing_of_them_is_copied(intake_service):
    _, b, _, _, rid = await referred(intake_service, consented=("risk_level",), asked=("risk_level",))
    (entry,) = (await b.get("/v1/referrals/incoming")).json()["referrals"]
    assert set(entry["disclosed"]) == {"risk_level"} and "Robin" not in json.dumps(entry["disclosed"])
    r = await b.post(f"/v1/referrals/incoming/{rid}/accept", {})
    assert r.status_code == 422 and "display_name" in r.text
    r = await b.post(f"/v1/referrals/incoming/{rid}/accept", {"display_name": "R."})
    assert r.status_code == 201, r.text
    person = (await b.client.get(f"/v1/participants/{r.json()['participant_id']}", headers=b.supervisor)).json()
    assert person["display_name"] == "R." and person["recovery_start_date"] is None
    assert not person.get("primary_substances")


async def test_a_referral_that_does_not_exist_answers_404(intake_service):
    b = Agency(intake_service.client)
    assert (await b.get(f"/v1/referrals/incoming/{uuid.uuid4()}")).status_code == 404
    r = await b.post(f"/v1/referrals/incoming/{uuid.uuid4()}/decline", {"reason": "other"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


# --- the disclosure happens when the receiving agency is shown the referral ----------------------


async def sent_ledger(a, pid):
    return (await a.get(f"/v1/participants/{pid}/disclosures")).json()["disclosures"]


async def test_the_ledger_records_the_referral_when_b_is_first_shown_it_not_when_it_is_requested(intake_service):
    a, b, pid, cid, rid = await referred(intake_service)
    assert await sent_ledger(a, pid) == []  # requested and waiting in B's inbox: nothing reached B yet
    before = datetime.now(UTC)
    assert [r["referral_id"] for r in (await b.get("/v1/referrals/incoming")).json()["referrals"]] == [rid]
    (line,) = await sent_ledger(a, pid)
    assert (line["direction"], line["referral_id"], line["recipient_agency_id"], line["consent_id"]) == (
        "sent", rid, b.id, cid)
    assert line["requested_by"] and line["note"] == "prefers mornings"
    shown_at = datetime.fromisoformat(line["disclosed_at"])
    assert shown_at >= before - timedelta(seconds=1)
    # shown again (list and detail): still one line, with the first showing's time
    await b.shown(rid)
    await b.get("/v1/referrals/incoming")
    (again,) = await sent_ledger(a, pid)
    assert again == line


async def test_a_referral_withdrawn_before_b_saw_it_disclosed_nothing(intake_service):
    a, b, pid, cid, rid = await referred(intake_service)
    r = await a.post(f"/v1/participants/{pid}/consents/{cid}/revocation")
    assert r.status_code == 200, r.text
    assert (await b.get("/v1/referrals/incoming", status="all")).json()["referrals"] == []
    assert (await b.get(f"/v1/referrals/incoming/{rid}")).status_code == 404
    assert await sent_ledger(a, pid) == []


async def test_accepting_a_referral_never_opened_records_its_disclosure(intake_service):
    a, b, pid, _, rid = await referred(intake_service)
    r = await b.post(f"/v1/referrals/incoming/{rid}/accept", {"specialist_id": "b-spec-1"})
    assert r.status_code == 201, r.text
    assert [(d["direction"], d["referral_id"]) for d in await sent_ledger(a, pid)] == [("sent", rid)]


async def test_b_s_inbox_is_paged(intake_service):
    a, b, pid, _, first = await referred(intake_service)
    more = []
    for _ in range(2):
        r = await a.post(f"/v1/participants/{pid}/referrals",
                         {"recipient_agency_id": b.id, "purpose": "care_coordination", "information": ["risk_level"]})
        assert r.status_code == 201, r.text
        more.append(r.json()["referral_id"])
    page1 = (await b.get("/v1/referrals/incoming", limit=2)).json()
    assert [r["referral_id"] for r in page1["referrals"]] == [first, more[0]] and page1["next_offset"] == 2
    # only what was shown is disclosed
    assert sorted(d["referral_id"] for d in await sent_ledger(a, pid)) == sorted([first, more[0]])
    page2 = (await b.get("/v1/referrals/incoming", limit=2, offset=2)).json()
    assert [r["referral_id"] for r in page2["referrals"]] == [more[1]] and page2["next_offset"] is None
    assert (await b.get("/v1/referrals/incoming", limit=501)).status_code == 422
