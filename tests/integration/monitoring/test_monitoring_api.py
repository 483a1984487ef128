"""The monitoring API on real Kafka and PostgreSQL: check-ins, SOS, relapses, contacts, bad input,
timeline, caseload and overview."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .helpers import (
    AGENCY,
    STAFF,
    SUPERVISOR,
    data,
    discharged,
    enrol_directly,
    enrolled,
    monitoring,
    publish_intake,
    published,
    stored,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra) as running:
        yield running


async def _events(svc, pid):
    return [e["type"] for e in await stored(svc.runtime, pid)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"craving": 11, "mood": 3}, "craving"),
        ({"craving": -1, "mood": 3}, "craving"),
        ({"craving": 3, "mood": 0}, "mood"),
        ({"craving": 3, "mood": 6}, "mood"),
        ({"craving": 3}, "mood"),
        ({"craving": 3, "mood": 3, "high_risk_situations": ["bad_day"]}, "high_risk_situations.0"),
    ],
)
async def test_out_of_range_check_ins_are_refused_and_nothing_is_stored(svc, body, field):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    before = await _events(svc, pid)
    r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await _events(svc, pid) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interval": "PT0.5S"}, "interval"),
        ({"interval": "PT0S"}, "interval"),
        ({"interval": "P1M"}, "interval"),
        ({"interval": "five seconds"}, "interval"),
        ({"interval": "PT5S", "grace": "soon"}, "grace"),
        ({"interval": "PT5S", "grace": "PT6S"}, "body"),
    ],
)
async def test_bad_schedules_are_refused_with_problem_details(svc, body, field):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    before = await _events(svc, pid)
    r = await svc.client.put(f"/v1/participants/{pid}/check-in-schedule", headers=STAFF, json=body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await _events(svc, pid) == before


async def test_a_check_in_for_an_unknown_participant_or_another_agency_is_not_found(svc):
    pid = uuid.uuid4()
    r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 1, "mood": 3})
    assert r.status_code == 404
    await enrol_directly(svc.runtime, pid)
    other = bearer(sub="crs-9", agency_id="agency-other", roles=("specialist",))
    r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=other, json={"craving": 1, "mood": 3})
    assert r.status_code == 404
    assert "CheckInCompleted" not in await _events(svc, pid)


async def test_a_check_in_for_a_discharged_participant_is_refused(svc, infra):
    pid = uuid.uuid4()
    await publish_intake(infra.kafka_bootstrap, enrolled(pid), pid)
    await publish_intake(infra.kafka_bootstrap, discharged(pid), pid)

    async def ended():
        return "MonitoringEnded" in await _events(svc, pid)

    await eventually(ended, timeout=30, message="monitoring ended by the discharge")
    r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 1, "mood": 3})
    assert r.status_code == 409, r.text
    assert "CheckInCompleted" not in await _events(svc, pid)
    row = await svc.runtime.pool.fetchrow(
        "SELECT active, check_in_deadline FROM monitored_participants WHERE participant_id = $1", pid
    )
    assert (row["active"], row["check_in_deadline"]) == (False, None)


async def test_only_the_participant_themselves_may_check_in_without_a_staff_role(svc):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    me = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    someone_else = bearer(sub=str(uuid.uuid4()), agency_id=AGENCY, roles=("participant",))
    body = {"craving": 2, "mood": 4}
    assert (
        await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=someone_else, json=body)
    ).status_code == 403
    assert (await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=me, json=body)).status_code == 201


async def test_a_risky_check_in_escalates_with_reasons_and_the_private_note_stays_in_monitoring(svc, infra):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    r = await svc.client.post(
        f"/v1/participants/{pid}/check-ins",
        headers=STAFF,
        json={
            "craving": 9,
            "mood": 2,
            "used_since_last_check_in": True,
            "substances_used": ["alcohol"],
            "warning_signs": [{"description": "stopped calling my sponsor Jo", "tag": "isolation"}],
            "high_risk_situations": ["interpersonal_conflict"],
            "coping_strategies": [{"description": "long walk by the canal", "helped": True}],
            "support_meeting_attended": True,
            "private_note": "fight with my landlord Pat",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["escalated"] and body["risk_level"] == "high"
    assert any("craving 9/10" in reason for reason in body["reasons"])

    [completed] = await published(infra.kafka_bootstrap, pid, "CheckInCompleted", count=1)
    [escalated] = await published(infra.kafka_bootstrap, pid, "RiskEscalated", count=1)
    assert {x["code"] for x in data(escalated)["reasons"]} == {"high_craving", "use_reported"}
    assert data(completed)["new_warning_sign_count"] == 1 and data(completed)["warning_sign_tags"] == ["isolation"]
    for secret in (b"Pat", b"landlord", b"Jo", b"canal"):
        assert secret not in completed.value and secret not in escalated.value
    texts = await svc.runtime.pool.fetch("SELECT kind, body FROM private_texts WHERE participant_id = $1", pid)
    assert {t["kind"] for t in texts} == {"check_in_note", "warning_sign", "coping_strategy"}


async def test_an_sos_is_an_immediate_critical_escalation(svc, infra):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    r = await svc.client.post(
        f"/v1/participants/{pid}/help-requests", headers=STAFF, json={"message": "please call me"}
    )
    assert r.status_code == 201, r.text
    [help_record] = await published(infra.kafka_bootstrap, pid, "HelpRequested", count=1)
    [escalated] = await published(infra.kafka_bootstrap, pid, "RiskEscalated", count=1)
    assert data(escalated)["to_level"] == "critical" and data(escalated)["immediate"] is True
    assert b"please call" not in help_record.value


async def test_a_relapse_restarts_the_count_and_milestones_follow_it(svc):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    relapsed_on = (datetime.now(UTC) - timedelta(days=8)).date()
    r = await svc.client.post(
        f"/v1/participants/{pid}/relapses",
        headers=STAFF,
        json={"relapsed_on": relapsed_on.isoformat(), "substances": ["opioids"], "note": "x"},
    )
    assert r.status_code == 201, r.text
    # the milestone row is due at once (the 1-day milestone of the new count is in the past)

    async def milestones():
        rows = await stored(svc.runtime, pid, "MilestoneReached")
        return rows if len(rows) >= 2 else None

    rows = await eventually(milestones, timeout=20, message="milestones since the relapse")
    assert [(m["milestone"], m["counted_from"]) for m in rows] == [
        ("1-day", relapsed_on.isoformat()),
        ("7-days", relapsed_on.isoformat()),
    ]
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    r = await svc.client.post(f"/v1/participants/{pid}/relapses", headers=STAFF, json={"relapsed_on": future})
    assert r.status_code == 422


async def test_contacts_are_logged_and_the_note_stays_private(svc, infra):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    r = await svc.client.post(
        f"/v1/participants/{pid}/contacts",
        headers=STAFF,
        json={"channel": "phone", "outcome": "reached", "note": "talked about Alex"},
    )
    assert r.status_code == 201, r.text
    [logged] = await published(infra.kafka_bootstrap, pid, "ContactLogged", count=1)
    assert data(logged)["specialist_id"] == "crs-1" and b"Alex" not in logged.value


async def test_the_timeline_lists_events_in_order_with_a_line_each_and_pages(svc, infra):
    pid = uuid.uuid4()
    await publish_intake(infra.kafka_bootstrap, enrolled(pid), pid)

    async def known():
        return await svc.runtime.pool.fetchval(
            "SELECT active FROM monitored_participants WHERE participant_id = $1", pid
        )

    await eventually(known, timeout=30, message="monitoring started")
    for craving in (2, 3, 4):
        r = await svc.client.post(
            f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": craving, "mood": 3}
        )
        assert r.status_code == 201

    async def full():
        r = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)
        entries = r.json()["entries"]
        return entries if sum(e["type"] == "CheckInCompleted" for e in entries) == 3 else None

    await eventually(full, timeout=30, message="the timeline")
    await published(infra.kafka_bootstrap, pid, "CheckInScheduleSet", count=2)
    entries = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)).json()["entries"]
    types = [e["type"] for e in entries]
    assert types[:3] == ["ParticipantEnrolled", "MonitoringStarted", "CheckInScheduleSet"]
    lines = [e["summary"] for e in entries if e["type"] == "CheckInCompleted"]
    assert lines[0] == "Check-in: craving 2/10, mood 3/5, no use reported"
    [escalation] = [e["summary"] for e in entries if e["type"] == "RiskEscalated"]
    assert escalation.endswith("moderate -> high: craving rose over the last three check-ins (2 -> 3 -> 4)")

    page = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF, params={"limit": 2})
    second = await svc.client.get(
        f"/v1/participants/{pid}/timeline", headers=STAFF, params={"limit": 2, "after": page.json()["next_after"]}
    )
    assert [e["type"] for e in page.json()["entries"] + second.json()["entries"]] == types[:4]


async def test_the_caseload_ranks_by_need_and_the_overview_counts(svc):
    specialist = f"crs-{uuid.uuid4().hex[:6]}"
    calm, silent, sos = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    me = bearer(sub=specialist, agency_id=AGENCY, roles=("specialist",))
    for pid in (calm, silent, sos):
        await enrol_directly(svc.runtime, pid, specialist=specialist)
    await svc.client.post(f"/v1/participants/{calm}/check-ins", headers=me, json={"craving": 1, "mood": 4})
    await svc.client.post(f"/v1/participants/{sos}/help-requests", headers=me, json={})
    await svc.client.put(f"/v1/participants/{silent}/check-in-schedule", headers=me, json={"interval": "PT1S"})

    async def ranked():
        r = await svc.client.get("/v1/caseload", headers=me)
        people = r.json()["participants"]
        by_id = {p["participant_id"]: p for p in people}
        if (
            len(people) == 3
            and by_id[str(silent)]["consecutive_misses"] >= 2
            and by_id[str(sos)]["risk_level"] == "critical"
        ):
            return people
        return None

    people = await eventually(ranked, timeout=30, message="the ranked caseload")
    order = [p["participant_id"] for p in people]
    assert set(order[:2]) == {str(sos), str(silent)} and order[-1] == str(calm)
    assert [p["need"] for p in people] == sorted((p["need"] for p in people), reverse=True)
    by_id = {p["participant_id"]: p for p in people}
    assert any("missed check-ins in a row" in reason for reason in by_id[str(silent)]["reasons"])

    assert (await svc.client.get("/v1/caseload", headers=me, params={"whole_agency": True})).status_code == 403
    overview = (await svc.client.get("/v1/overview", headers=SUPERVISOR)).json()
    assert overview["missed_check_ins_today"] >= 2
    assert overview["participants_by_risk"]["critical"] >= 1
    assert (await svc.client.get("/v1/overview", headers=STAFF)).status_code == 403


async def test_the_read_models_are_rebuilt_from_the_events_to_the_same_content(svc, infra):
    from services.monitoring.projections.rebuild import rebuild

    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)
    await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF, json={"craving": 9, "mood": 2})
    await published(infra.kafka_bootstrap, pid, "CheckInScheduleSet", count=2)

    async def projected():
        n = await svc.runtime.pool.fetchval("SELECT count(*) FROM timeline WHERE participant_id = $1", pid)
        return n >= 5

    await eventually(projected, timeout=30, message="the timeline")

    async def snapshot():
        timeline_rows = await svc.runtime.pool.fetch(
            "SELECT participant_id, event_id, event_type, summary, data::text FROM timeline ORDER BY event_id"
        )
        caseload_rows = await svc.runtime.pool.fetch(
            "SELECT participant_id, specialist_id, risk_level, consecutive_misses, last_check_in_at, open_alerts"
            " FROM caseload ORDER BY participant_id"
        )
        return [tuple(r) for r in timeline_rows], [tuple(r) for r in caseload_rows]

    before = await snapshot()
    for table in ("timeline", "caseload", "daily_counts"):  # the service's role may not TRUNCATE
        await svc.runtime.pool.execute(f"DELETE FROM {table}")
    result = await rebuild(svc.runtime.pool, infra.kafka_bootstrap)
    # the topics hold every test's events (one broker per session), so the rebuild finds at least ours
    assert result["applied"] >= len(before[0])
    after = await snapshot()
    mine = [r for r in after[0] if r[0] == pid]
    assert mine == [r for r in before[0] if r[0] == pid]
    assert [r for r in after[1] if r[0] == pid] == [r for r in before[1] if r[0] == pid]


async def test_the_default_cadence_follows_the_risk_level_intake_decides(svc, infra):
    from shared.catalogue.intake import AssessmentCompleted

    pid = uuid.uuid4()
    await publish_intake(infra.kafka_bootstrap, enrolled(pid), pid)
    assessed = AssessmentCompleted(
        participant_id=pid,
        assessment_id=uuid.uuid4(),
        instruments=("BAM",),
        risk_level="high",
        completed_at=datetime.now(UTC),
    )
    await publish_intake(infra.kafka_bootstrap, assessed, pid)
    records = await published(infra.kafka_bootstrap, pid, "CheckInScheduleSet", count=2)
    intervals = [data(r)["interval"] for r in records]
    assert intervals == ["P3D", "P1D"]
    assert [r["type"] for r in await stored(svc.runtime, pid)] == [
        "MonitoringStarted",
        "CheckInScheduleSet",
        "RiskLevelNoted",
        "CheckInScheduleSet",
    ]
