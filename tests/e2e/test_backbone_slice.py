"""One participant flows through the four service processes over real Kafka and PostgreSQL."""

import os
import uuid

import httpx
import pytest

from deploy.services import start_services, stop_services
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

pytestmark = pytest.mark.e2e

# Engineers running suites side by side set WAYPOINT_TEST_HTTP_BASE so the service ports do not collide.
_BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
PORTS = {"intake": _BASE + 1, "planning": _BASE + 2, "monitoring": _BASE + 3, "notifications": _BASE + 4}


# Generous waits: the services share consumer groups with every earlier test of the session and
# may first catch up on their backlog; on a quiet machine the whole flow takes about a second.
@pytest.fixture(scope="module")
def stack(infra, tmp_path_factory):
    state = tmp_path_factory.mktemp("e2e")
    run = uuid.uuid4().hex[:8]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "DATABASE_URL": infra.database_url,
        "LOG_JSON": "true",
        "RELAY_POLL_INTERVAL_S": "0.2",
    }
    for name in PORTS:
        env[f"{name.upper()}_DATABASE_URL"] = infra.database_url.rsplit("/", 1)[0] + f"/e2e_{name}_{run}"
    # Each service creates its own database when it is missing only for the default name; make them here.
    import asyncio

    from shared.db import ensure_database

    async def create():
        for name in PORTS:
            await ensure_database(infra.database_url, f"e2e_{name}_{run}")

    asyncio.run(create())
    try:
        yield start_services(state, env, ports=PORTS, timeout=90)
    finally:
        stop_services(state)


async def test_an_enrolled_participant_gets_a_plan_a_timeline_and_a_notified_specialist(stack):
    specialist = f"specialist-{uuid.uuid4().hex[:6]}"
    auth = bearer(sub=specialist, agency_id="agency-e2e")
    async with httpx.AsyncClient(timeout=10) as http:
        enrolled = await http.post(f"{stack['intake']}/v1/participants", headers=auth,
                                   json={"display_name": "Sam Example", "specialist_id": specialist})
        assert enrolled.status_code == 201, enrolled.text
        pid = enrolled.json()["participant_id"]
        assessed = await http.post(f"{stack['intake']}/v1/participants/{pid}/assessments", headers=auth,
                                   json={"phq9": {"answers": [2, 2, 1, 1, 2, 1, 1, 2, 0]}})
        assert assessed.status_code == 201, assessed.text

        async def plan():
            r = await http.get(f"{stack['planning']}/v1/participants/{pid}/plan", headers=auth)
            return r.json() if r.status_code == 200 else None

        created = await eventually(plan, timeout=90, message="the draft plan")
        assert created["status"] == "draft"

        async def timeline():
            r = await http.get(f"{stack['monitoring']}/v1/participants/{pid}/timeline", headers=auth)
            types = [e["type"] for e in r.json().get("entries", ())]  # 404 until the assignment reaches monitoring
            return types if "PlanCreated" in types and "NotificationSent" in types else None

        types = await eventually(timeline, timeout=90, message="the full timeline")
        assert types.index("ParticipantEnrolled") < types.index("AssessmentCompleted") < types.index("PlanCreated")
        assert types.count("PlanCreated") == 1

        inbox = (await http.get(f"{stack['notifications']}/v1/notifications", headers=auth)).json()
        mine = [n for n in inbox["notifications"] if n["participant_id"] == pid]
        assert len(mine) == 1 and mine[0]["rule"] == "plan-created-tell-specialist"

        other_agency = bearer(sub=specialist, agency_id="agency-other")
        hidden = await http.get(f"{stack['monitoring']}/v1/participants/{pid}/timeline", headers=other_agency)
        nobody = await http.get(f"{stack['monitoring']}/v1/participants/{uuid.uuid4()}/timeline", headers=other_agency)
        assert hidden.status_code == nobody.status_code == 404 and hidden.json() == nobody.json()


def test_waypoint_status_reads_the_four_running_services(stack):
    """`waypoint status` against the four processes: each one ready with a relay leader; the only
    problems it may report are dead letters other tests of the session left on the shared topics."""
    import re
    import subprocess
    import sys

    urls = [f"--url={name}={url}" for name, url in stack.items()]
    result = subprocess.run([sys.executable, "-m", "deploy.cli", "status", *urls], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": "250"})
    out = result.stdout
    for name in stack:
        assert re.search(rf"│ {name}\s+│ yes\s+│ yes\s+│", out), out
    assert "waypoint.monitoring.read-models" in out and "waypoint.notifications.alerts" in out
    problems = [line for line in out.splitlines() if line.startswith("  - ")]
    assert result.returncode == (1 if problems else 0), out
    assert all(re.search(r"records on waypoint\.\w+\.dlq$", p) for p in problems), problems
