"""The access audit of planning's reads (HIPAA / 42 CFR Part 2) on real PostgreSQL and Kafka: every
read that shows a participant's plan is in the append-only access log, and only supervisors and
agency admins of the agency read that log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from unittest.mock import ANY
from uuid import UUID

import asyncpg
import pytest
from planning_support import AGENCY, on_caseload, publish

from shared.catalogue.intake import ParticipantEnrolled
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import RunningService

pytestmark = pytest.mark.integration

SPECIALIST = bearer(sub="crs-audit", agency_id=AGENCY, roles=("specialist",))
SUPERVISOR = bearer(sub="sup-audit", agency_id=AGENCY, roles=("supervisor",))
ADMIN = bearer(sub="admin-audit", agency_id=AGENCY, roles=("agency_admin",))
INTEGRATION = bearer(sub="ehr-bridge", agency_id=AGENCY, roles=("integration",))
ELSEWHERE = bearer(sub="sup-elsewhere", agency_id="agency-elsewhere", roles=("specialist", "supervisor"))
SIGN = {"text": "Skipping meetings", "tags": ["skipping-support"]}


async def participant_with_plan(planning: RunningService, bootstrap: str) -> UUID:
    pid = uuid.uuid4()
    await publish(bootstrap, "intake",
                  ParticipantEnrolled(participant_id=pid, specialist_id="crs-audit", enrolled_at=datetime.now(UTC)))
    await eventually(
        lambda: planning.runtime.pool.fetchval("SELECT 1 FROM planning_participants WHERE participant_id = $1", pid),
        message="the enrolment to reach planning",
    )
    await on_caseload(planning.runtime.pool, pid, "crs-audit")  # SPECIALIST's own caseload
    drafted = await planning.client.post(
        f"/v1/participants/{pid}/plan", headers=SPECIALIST, json={"sections": {"warning_signs": [SIGN]}}
    )
    assert drafted.status_code == 201, drafted.text
    return pid


async def access_log(planning: RunningService, pid: UUID, headers: dict[str, str] = SUPERVISOR) -> list[dict]:
    response = await planning.client.get(f"/v1/participants/{pid}/access-log", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["participant_id"] == str(pid)
    entries: list[dict] = response.json()["access_log"]
    return entries


async def rows_about(planning: RunningService, pid: UUID) -> int:
    count: int = await planning.runtime.pool.fetchval("SELECT count(*) FROM access_log WHERE participant_id = $1", pid)
    return count


async def test_every_read_of_a_plan_is_in_the_access_log_newest_first(planning, kafka_bootstrap):
    pid = await participant_with_plan(planning, kafka_bootstrap)
    # drafting answers with the plan: that is a read too
    assert [(e["actor"], e["action"]) for e in await access_log(planning, pid)] == [
        ("crs-audit", "plan shown after drafting")]
    own = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    now = datetime.now(UTC).isoformat()
    for headers, path in [
        (SPECIALIST, "plan"),
        (SPECIALIST, "plan?version=1"),
        (SPECIALIST, f"plan?as_of={now.replace('+00:00', 'Z')}"),
        (SPECIALIST, "plan/history"),
        (SPECIALIST, "plan/fhir"),
        (SUPERVISOR, "plan"),
        (SUPERVISOR, "plan/fhir?version=1"),
        (own, "plan"),
        (INTEGRATION, "plan/fhir"),
    ]:
        response = await planning.client.get(f"/v1/participants/{pid}/{path}", headers=headers)
        assert response.status_code == 200, (path, response.text)
    entries = await access_log(planning, pid)
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("ehr-bridge", "export plan (FHIR)"),
        (str(pid), "read plan"),
        ("sup-audit", "export plan (FHIR)"),
        ("sup-audit", "read plan"),
        ("crs-audit", "export plan (FHIR)"),
        ("crs-audit", "read plan history"),
        ("crs-audit", "read plan as of date"),
        ("crs-audit", "read plan version"),
        ("crs-audit", "read plan"),
        ("sup-audit", "read access log"),
        ("crs-audit", "plan shown after drafting"),
    ]
    instants = [datetime.fromisoformat(e["at"]) for e in entries]
    assert all(at.tzinfo is not None for at in instants)
    assert instants == sorted(instants, reverse=True)
    # reading the log is recorded too (it is about the participant), newest first
    assert await access_log(planning, pid, headers=ADMIN) == [
        {"at": ANY, "actor": "sup-audit", "action": "read access log"},
        *entries,
    ]
    # The catalogues show nobody's data.
    for path in ("/v1/education-modules", "/v1/coping-strategies"):
        assert (await planning.client.get(path, headers=SPECIALIST)).status_code == 200
    assert await rows_about(planning, pid) == len(entries) + 2  # and the two reads of the log


async def test_a_refused_or_not_found_read_is_recorded_as_an_attempt_with_who_and_which_id(planning, kafka_bootstrap):
    pid = await participant_with_plan(planning, kafka_bootstrap)
    unknown = uuid.uuid4()
    someone_else_sub = str(uuid.uuid4())
    someone_else = bearer(sub=someone_else_sub, agency_id=AGENCY, roles=("participant",))
    no_reader = bearer(sub="billing-1", agency_id=AGENCY, roles=("billing",))
    for headers, whose, path, status in [
        (SPECIALIST, pid, "plan?version=2", 404),
        (SPECIALIST, pid, "plan?as_of=2000-01-01T00:00:00Z", 404),
        (SPECIALIST, pid, "plan/fhir?version=9", 404),
        (SPECIALIST, pid, "plan?as_of=2100-01-01T00:00:00", 422),
        (SPECIALIST, pid, "plan?version=1&as_of=2100-01-01T00:00:00Z", 422),
        (someone_else, pid, "plan", 404),
        (someone_else, pid, "plan/history", 404),
        (ELSEWHERE, pid, "plan", 404),
        (ELSEWHERE, pid, "plan/fhir", 404),
        (no_reader, pid, "plan", 403),
        (no_reader, pid, "plan/history", 403),
        (SPECIALIST, unknown, "plan", 404),
        (SPECIALIST, unknown, "plan/history", 404),
        (SPECIALIST, unknown, "plan/fhir", 404),
    ]:
        response = await planning.client.get(f"/v1/participants/{whose}/{path}", headers=headers)
        assert response.status_code == status, (path, response.text)
    attempts = await planning.runtime.pool.fetch(
        "SELECT agency_id, actor, action FROM access_log WHERE participant_id = $1 AND action LIKE 'refused%'"
        " ORDER BY id", pid)
    # 403/404 from callers we can name (the 422s are not reads; a token without any role names nobody)
    assert [(r["agency_id"], r["actor"]) for r in attempts] == [
        *[(AGENCY, "crs-audit")] * 3, *[(AGENCY, someone_else_sub)] * 2, *[("agency-elsewhere", "sup-elsewhere")] * 2]
    assert attempts[0]["action"] == "refused read attempt (404): GET /v1/participants/{participant_id}/plan"
    assert await rows_about(planning, unknown) == 3
    # the agency's log of the participant shows its own staff's attempts, not another agency's
    assert len([e for e in await access_log(planning, pid) if e["action"].startswith("refused")]) == 5


async def test_only_supervisors_and_agency_admins_of_the_agency_read_the_access_log(planning, kafka_bootstrap):
    pid = await participant_with_plan(planning, kafka_bootstrap)
    assert (await planning.client.get(f"/v1/participants/{pid}/plan", headers=SPECIALIST)).status_code == 200
    own = bearer(sub=str(pid), agency_id=AGENCY, roles=("participant",))
    for headers in (SPECIALIST, own, INTEGRATION):
        refused = await planning.client.get(f"/v1/participants/{pid}/access-log", headers=headers)
        assert refused.status_code == 403, refused.text
    assert (await planning.client.get(f"/v1/participants/{pid}/access-log")).status_code == 401
    assert [e["action"] for e in await access_log(planning, pid)] == [
        *["refused read attempt (403): GET /v1/participants/{participant_id}/access-log"] * 3,
        "read plan", "plan shown after drafting"]
    assert await access_log(planning, pid, headers=ELSEWHERE) == []


async def test_the_access_log_cannot_be_changed(planning, kafka_bootstrap):
    pid = await participant_with_plan(planning, kafka_bootstrap)
    assert (await planning.client.get(f"/v1/participants/{pid}/plan", headers=SPECIALIST)).status_code == 200
    for statement in (
        "UPDATE access_log SET actor = 'nobody'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ):
        # the trigger refuses it, or (TRUNCATE) the service's role may not even try
        with pytest.raises((asyncpg.RaiseError, asyncpg.InsufficientPrivilegeError), match=r"append-only|permission"):
            await planning.runtime.pool.execute(statement)
    assert await rows_about(planning, pid) == 2
    assert [e["actor"] for e in await access_log(planning, pid)] == ["crs-audit", "crs-audit"]
