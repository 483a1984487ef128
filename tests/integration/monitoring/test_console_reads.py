"""The reads the console needs from monitoring: recent check-ins for the chart, and the recovery count."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from services.monitoring.application import handlers
from services.monitoring.domain.commands import StartMonitoring
from shared.envelope import Metadata
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .helpers import AGENCY, STAFF, monitoring

pytestmark = pytest.mark.integration
ELSEWHERE = bearer(sub="crs-1", agency_id="agency-elsewhere", roles=("specialist",))


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra, scheduler=False) as running:
        yield running


async def _enrol(svc, start: date | None) -> uuid.UUID:
    pid = uuid.uuid4()
    async with svc.runtime.uow(Metadata(correlation_id=str(uuid.uuid4()), actor="test")) as uow:
        await handlers.start_monitoring(
            uow, StartMonitoring(participant_id=pid, specialist_id="crs-1", recovery_start_date=start), AGENCY,
            datetime.now(UTC),
        )
    return pid


async def test_recent_check_ins_newest_first_without_private_words_and_audited(svc):
    pid = await _enrol(svc, None)
    for craving, mood in ((2, 4), (7, 2)):
        r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                  json={"craving": craving, "mood": mood, "private_note": "secret words"})
        assert r.status_code == 201, r.text

    async def two():
        r = await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=STAFF)
        assert r.status_code == 200, r.text
        return r.json()["check_ins"] if len(r.json()["check_ins"]) == 2 else None

    check_ins = await eventually(two, timeout=30, message="two check-ins in the timeline")
    assert [(c["craving"], c["mood"]) for c in check_ins] == [(7, 2), (2, 4)]
    latest = (await svc.client.get(f"/v1/participants/{pid}/timeline/latest", headers=STAFF,
                                   params={"limit": 2})).json()["entries"]
    oldest_first = (await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)).json()["entries"]
    assert [e["event_id"] for e in latest] == [e["event_id"] for e in reversed(oldest_first)][:2]
    assert (await svc.client.get(f"/v1/participants/{pid}/timeline/latest", headers=ELSEWHERE)).json()[
        "entries"] == []
    assert "secret words" not in str(check_ins)
    hidden = await svc.client.get(f"/v1/participants/{pid}/check-ins", headers=ELSEWHERE)
    assert hidden.json()["check_ins"] == []
    conn = await asyncpg.connect(svc.dsn)
    try:
        actions = await conn.fetchval(
            "SELECT count(*) FROM access_log WHERE participant_id = $1 AND action = 'read check-ins'", pid)
    finally:
        await conn.close()
    assert actions >= 1


async def test_recovery_count_and_milestones_for_the_participant_themselves(svc):
    start = datetime.now(UTC).date() - timedelta(days=10)
    pid = await _enrol(svc, start)
    me = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    r = await svc.client.get(f"/v1/participants/{pid}/recovery", headers=me)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days_in_recovery"] == 10
    assert [m["key"] for m in body["milestones"]] == ["1-day", "7-days"]
    assert body["next_milestone_on"] == (start + timedelta(days=30)).isoformat()
    someone_else = bearer(sub=str(uuid.uuid4()), agency_id=AGENCY, roles=("participant",))
    assert (await svc.client.get(f"/v1/participants/{pid}/recovery", headers=someone_else)).status_code == 403
    assert (await svc.client.get(f"/v1/participants/{pid}/recovery", headers=ELSEWHERE)).status_code == 404
    no_start = await _enrol(svc, None)
    assert (await svc.client.get(f"/v1/participants/{no_start}/recovery", headers=STAFF)).json()[
        "days_in_recovery"] is None
