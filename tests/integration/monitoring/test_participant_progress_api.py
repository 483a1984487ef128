"""A participant page's reads from monitoring on real Kafka and PostgreSQL: days in recovery and
milestones, the check-in series for the chart, the risk level history with reasons, and the
timeline filtered by service or event type. Scoped to the agency, audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.catalogue.intake import RiskLevelChanged
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .helpers import AGENCY, STAFF, SUPERVISOR, enrolled, monitoring, publish_intake

pytestmark = pytest.mark.integration

OTHER_AGENCY = bearer(sub="crs-x", agency_id="agency-elsewhere", roles=("specialist",))


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra) as running:
        yield running


def participant(pid) -> dict[str, str]:
    return bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))


async def enrol_via_intake(svc, infra, pid, start=None) -> None:
    await publish_intake(infra.kafka_bootstrap, enrolled(pid, start=start), pid)

    async def known():
        return await svc.runtime.pool.fetchval(
            "SELECT active FROM monitored_participants WHERE participant_id = $1", pid
        )

    await eventually(known, timeout=30, message="monitoring started")


async def timeline_has(svc, pid, event_type: str, count: int) -> list[dict]:
    async def enough():
        r = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF, params={"limit": 500})
        entries = r.json()["entries"]
        return entries if sum(e["type"] == event_type for e in entries) >= count else None

    return await eventually(enough, timeout=30, message=f"{count} x {event_type} on the timeline")


async def access_actions(svc, pid) -> list[str]:
    r = await svc.client.get(f"/v1/participants/{pid}/access-log", headers=SUPERVISOR)
    return [e["action"] for e in r.json()["access_log"]]


async def test_days_in_recovery_and_milestones_for_the_participant_themself(svc, infra):
    pid = uuid.uuid4()
    today = datetime.now(UTC).date()
    await enrol_via_intake(svc, infra, pid, start=today - timedelta(days=35))

    r = await svc.client.get(f"/v1/participants/{pid}/recovery", headers=participant(pid))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days_in_recovery"] == 35 and body["counting_from"] == (today - timedelta(days=35)).isoformat()
    assert [m["milestone"] for m in body["milestones_reached"]] == ["1-day", "7-days", "30-days"]
    assert body["next_milestone"] == {
        "milestone": "60-days", "days": 60, "reached_on": (today + timedelta(days=25)).isoformat()
    }
    assert body["active"] is True and body["today"] == today.isoformat()
    assert (await svc.client.get(f"/v1/participants/{pid}/recovery", headers=STAFF)).status_code == 200
    assert "read recovery progress" in await access_actions(svc, pid)


async def test_recovery_is_private_to_the_person_and_their_agency(svc, infra):
    pid, someone_else = uuid.uuid4(), uuid.uuid4()
    await enrol_via_intake(svc, infra, pid)
    not_mine = await svc.client.get(f"/v1/participants/{pid}/recovery", headers=participant(someone_else))
    assert not_mine.status_code == 403
    for path in ("recovery", "check-ins", "risk-history"):
        r = await svc.client.get(f"/v1/participants/{pid}/{path}", headers=OTHER_AGENCY)
        assert r.status_code == 404, (path, r.text)
        r = await svc.client.get(f"/v1/participants/{uuid.uuid4()}/{path}", headers=STAFF)
        assert r.status_code == 404, (path, r.text)
    without_count = (await svc.client.get(f"/v1/participants/{pid}/recovery", headers=STAFF)).json()
    assert without_count["days_in_recovery"] is None and without_count["milestones_reached"] == []


async def test_the_check_in_series_is_in_order_paged_and_readable_by_the_participant(svc, infra):
    pid = uuid.uuid4()
    await enrol_via_intake(svc, infra, pid)
    for craving, mood in ((2, 4), (5, 3), (1, 5)):
        r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                  json={"craving": craving, "mood": mood, "private_note": "slept badly"})
        assert r.status_code == 201, r.text
    await timeline_has(svc, pid, "CheckInCompleted", 3)

    r = await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=participant(pid))
    assert r.status_code == 200, r.text
    series = r.json()["check_ins"]
    assert [(c["craving"], c["mood"]) for c in series] == [(2, 4), (5, 3), (1, 5)]
    assert all(c["used_since_last_check_in"] is False for c in series) and r.json()["next_after"] is None
    assert "slept badly" not in r.text

    first = (await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF, params={"limit": 2})).json()
    rest = (await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                 params={"limit": 2, "after": first["next_after"]})).json()
    assert [c["craving"] for c in first["check_ins"] + rest["check_ins"]] == [2, 5, 1]
    assert rest["next_after"] is None

    later = (await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                  params={"since": series[1]["completed_at"]})).json()
    assert [c["craving"] for c in later["check_ins"]] == [5, 1]
    for cursor in ("nonsense", "20260101T000000.000000Z~99999999999999999999", "20260101T000000.000000Z~-1"):
        bad = await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF, params={"after": cursor})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after", cursor
    naive = await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                 params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert "read check-ins" in await access_actions(svc, pid)


async def test_risk_history_lists_assessment_and_check_in_changes_with_reasons_newest_first(svc, infra):
    pid = uuid.uuid4()
    await enrol_via_intake(svc, infra, pid)
    assessment = uuid.uuid4()
    await publish_intake(infra.kafka_bootstrap, RiskLevelChanged(
        participant_id=pid, assessment_id=assessment, previous_level=None, risk_level="moderate",
        reasons=("PHQ-9 14 (moderate depression)",), changed_at=datetime.now(UTC),
    ), pid)
    await timeline_has(svc, pid, "RiskLevelChanged", 1)
    r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                              json={"craving": 9, "mood": 2, "used_since_last_check_in": True})
    assert r.json()["escalated"], r.text
    await timeline_has(svc, pid, "RiskEscalated", 1)

    r = await svc.client.get(f"/v1/participants/{pid}/risk-history", headers=STAFF)
    assert r.status_code == 200, r.text
    body = r.json()
    escalation, assessed = body["changes"]
    assert (escalation["risk_level"], escalation["previous_level"]) == ("high", "moderate")
    assert escalation["cause"] == "check_in"
    assert {x["code"] for x in escalation["reasons"]} == {"high_craving", "use_reported"}
    assert all(x["detail"] for x in escalation["reasons"]) and escalation["service"] == "monitoring"
    assert (assessed["risk_level"], assessed["cause"]) == ("moderate", "assessment")
    assert assessed["assessment_id"] == str(assessment)
    assert assessed["reasons"] == [{"code": None, "detail": "PHQ-9 14 (moderate depression)"}]
    assert body["current_risk_level"] == "high" and body["next_before"] is None

    first = (await svc.client.get(f"/v1/participants/{pid}/risk-history", headers=STAFF, params={"limit": 1})).json()
    second = (await svc.client.get(f"/v1/participants/{pid}/risk-history", headers=STAFF,
                                   params={"limit": 1, "before": first["next_before"]})).json()
    assert [c["event_type"] for c in first["changes"] + second["changes"]] == ["RiskEscalated", "RiskLevelChanged"]
    assert (await svc.client.get(f"/v1/participants/{pid}/risk-history", headers=participant(pid))).status_code == 403
    assert "read risk history" in await access_actions(svc, pid)


async def test_the_timeline_filters_by_service_and_by_event_type(svc, infra):
    pid = uuid.uuid4()
    await enrol_via_intake(svc, infra, pid)
    r = await svc.client.post(f"/v1/participants/{pid}/contacts", headers=STAFF,
                              json={"channel": "phone", "outcome": "reached"})
    assert r.status_code == 201, r.text
    everything = await timeline_has(svc, pid, "ContactLogged", 1)
    assert {e["service"] for e in everything} >= {"intake", "monitoring"}

    intake_only = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF,
                                        params={"service": "intake"})).json()["entries"]
    assert intake_only and {e["service"] for e in intake_only} == {"intake"}
    contacts = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF,
                                     params=[("type", "ContactLogged"), ("type", "MonitoringStarted")])).json()
    assert [e["type"] for e in contacts["entries"]] == ["MonitoringStarted", "ContactLogged"]
    bad = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF, params={"service": "billing"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.service.0"
