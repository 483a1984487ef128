"""Erasure reaches monitoring: the private texts (check-in notes, warning signs and coping
strategies in the participant's words, contact notes, SOS messages) are sealed under the
participant's data key; on ``ParticipantErased`` monitoring destroys its key, the notes read as
erased, and the timeline's lines and the caseload stay."""

import uuid

import pytest
from erasure_helpers import Person, Staff, data_key, found_in_database, found_on_kafka

from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration


async def test_after_erasure_monitoring_returns_no_private_text_and_keeps_the_timeline(er_intake, er_monitoring):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    person = Person()
    intake = Staff(er_intake.client, agency, "spec-1", ("specialist",))
    admin = Staff(er_intake.client, agency, "admin-1", ("agency_admin",))
    monitoring = Staff(er_monitoring.client, agency, "spec-1", ("specialist",))
    pid = (await intake.post("/v1/participants", person.enrolment("spec-1"))).json()["participant_id"]

    async def known():
        r = await monitoring.get(f"/v1/participants/{pid}/timeline")
        return r.status_code == 200 and any(e["type"] == "MonitoringStarted" for e in r.json()["entries"])

    await eventually(known, timeout=60, message="the enrolment to reach monitoring")
    r = await monitoring.post(f"/v1/participants/{pid}/check-ins", {
        "craving": 3, "mood": 3, "private_note": person.note,
        "warning_signs": [{"description": person.warning, "tag": "isolation"}],
        "coping_strategies": [{"description": person.coping, "helped": True}],
    })
    assert r.status_code == 201, r.text
    r = await monitoring.post(f"/v1/participants/{pid}/contacts",
                              {"channel": "phone", "outcome": "reached", "note": person.referral_note})
    assert r.status_code == 201, r.text
    notes = (await monitoring.get(f"/v1/participants/{pid}/private-notes")).json()["texts"]
    assert {n["body"] for n in notes} == {person.note, person.warning, person.coping, person.referral_note}

    async def lines():
        entries = (await monitoring.get(f"/v1/participants/{pid}/timeline")).json()["entries"]
        return entries if any(e["type"] == "ContactLogged" for e in entries) else None

    before = await eventually(lines, timeout=60, message="the timeline")
    assert await found_in_database(er_monitoring.dsn, person.texts()) == {}
    bootstrap = er_monitoring.runtime.settings.kafka_bootstrap_servers
    assert await found_on_kafka(bootstrap, pid, [pid, *person.texts()]) == [pid]  # the id travels, no text

    assert (await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "asked"})).status_code == 200

    async def shredded():
        key = await data_key(er_monitoring.dsn, pid)
        return key is not None and key["wrapped_key"] is None

    await eventually(shredded, timeout=60, message="monitoring to destroy its key")
    notes = (await monitoring.get(f"/v1/participants/{pid}/private-notes")).json()["texts"]
    assert len(notes) == 4
    assert all(n["body"] is None and n["erased"] is True and n["erased_at"] for n in notes)
    assert {n["kind"] for n in notes} == {"check_in_note", "warning_sign", "coping_strategy", "contact_note"}
    after = (await monitoring.get(f"/v1/participants/{pid}/timeline")).json()["entries"]
    kept = [(e["type"], e["summary"]) for e in after if e["type"] != "ParticipantErased"]
    # every line shown before is still there, word for word (other services' events may have
    # arrived meanwhile and sit between them in time order)
    remaining = iter(kept)  # before is a subsequence of after
    assert all(any(line == (e["type"], e["summary"]) for line in remaining) for e in before), (before, kept)
    caseload = (await monitoring.get("/v1/caseload")).json()
    assert pid in str(caseload)

    # what is written about an erased participant from now on keeps no text
    r = await monitoring.post(f"/v1/participants/{pid}/check-ins", {"craving": 2, "mood": 4,
                                                                   "private_note": person.plan_text})
    assert r.status_code == 201, r.text
    assert await found_in_database(er_monitoring.dsn, person.texts()) == {}
