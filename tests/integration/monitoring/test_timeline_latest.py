"""The newest timeline lines first (the console's participant page), scoped and audited."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .helpers import STAFF, enrol_directly, monitoring

pytestmark = pytest.mark.integration
ELSEWHERE = bearer(sub="crs-1", agency_id="agency-elsewhere", roles=("specialist",))


@pytest.fixture(scope="module")
async def svc(infra):
    async with monitoring(infra, scheduler=False) as running:
        yield running


async def test_latest_lines_newest_first_scoped_to_the_agency_and_audited(svc):
    pid = uuid.uuid4()
    await enrol_directly(svc.runtime, pid)  # assigned to crs-1 (STAFF)
    for craving, mood in ((2, 4), (7, 2)):
        r = await svc.client.post(f"/v1/participants/{pid}/check-ins", headers=STAFF,
                                  json={"craving": craving, "mood": mood})
        assert r.status_code == 201, r.text

    async def all_lines():
        r = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)
        entries = r.json()["entries"]
        return entries if sum(e["type"] == "CheckInCompleted" for e in entries) == 2 else None

    oldest_first = await eventually(all_lines, timeout=30, message="both check-ins in the timeline")
    latest = (await svc.client.get(f"/v1/participants/{pid}/timeline/latest", headers=STAFF,
                                   params={"limit": 2})).json()["entries"]
    assert [e["event_id"] for e in latest] == [e["event_id"] for e in reversed(oldest_first)][:2]
    assert "craving 7/10" in latest[0]["summary"] or latest[0]["type"] != "CheckInCompleted"
    hidden = await svc.client.get(f"/v1/participants/{pid}/timeline/latest", headers=ELSEWHERE)
    nobody = await svc.client.get(f"/v1/participants/{uuid.uuid4()}/timeline/latest", headers=ELSEWHERE)
    # not on any caseload of theirs: exactly what an unknown id gets (minimum necessary, then tenancy)
    assert hidden.status_code == nobody.status_code == 404 and hidden.json() == nobody.json()
    conn = await asyncpg.connect(svc.dsn)
    try:
        audited = await conn.fetchval(
            "SELECT count(*) FROM access_log WHERE participant_id = $1 AND action = 'read timeline'", pid)
    finally:
        await conn.close()
    assert audited >= 2
