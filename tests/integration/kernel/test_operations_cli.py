"""`waypoint status` and `waypoint rebuild` against services on real Kafka and PostgreSQL."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from rich.console import Console

import shared.catalogue  # noqa: F401
from deploy import ops_cli
from deploy.rebuild import READ_MODELS, resolve
from shared import cloudevents
from shared.catalogue.intake import ParticipantEnrolled
from shared.envelope import Metadata, NewEvent
from shared.testing.auth import bearer
from shared.testing.kafka import eventually, produce_raw
from shared.testing.services import running_service

pytestmark = pytest.mark.integration

OPERATOR = bearer(roles=("operator",))["Authorization"].removeprefix("Bearer ")


def _recorder() -> Console:
    return Console(record=True, width=240, force_terminal=False)


async def test_status_shows_each_service_and_fails_on_a_late_sweep_or_a_service_down(
    kafka_bootstrap, database_url, monkeypatch
):
    monkeypatch.setenv("MONITORING_SCHEDULER_ENABLED", "false")  # the sweep stopped: its deadlines wait
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               operations_sample_interval_s=0) as monitoring:
        down = httpx.AsyncClient(base_url="http://127.0.0.1:1", timeout=2)

        async def leads():
            results = await ops_cli.fetch_statuses({"monitoring": monitoring.client}, OPERATOR)
            return results if results["monitoring"]["status"]["relay_leader"] else None

        results = await eventually(leads, message="monitoring's relay to lead")
        assert results["monitoring"]["ready"] is True
        out = _recorder()
        ops_cli.render_status(out, results)
        text = out.export_text()
        for group in (c.group_id for c in monitoring.runtime.consumers):
            assert group in text
        assert "missed-check-ins" in text and "waypoint.monitoring.v1" in text

        await monitoring.runtime.pool.execute(
            "INSERT INTO monitored_participants (participant_id, agency_id, active, check_in_deadline)"
            " VALUES ($1, 'agency-ops', true, now() - interval '2 hours')", uuid.uuid4())
        results = await ops_cli.fetch_statuses({"monitoring": monitoring.client, "planning": down}, OPERATOR)
        await down.aclose()
        out = _recorder()
        assert ops_cli.render_status(out, results) == 1
        text = out.export_text()
        assert "monitoring: sweep missed-check-ins is" in text
        assert "planning: unreachable" in text

        refused = await ops_cli.fetch_statuses({"monitoring": monitoring.client}, bearer()["Authorization"][7:])
        assert "403" in refused["monitoring"]["error"]


def test_status_exits_zero_when_all_is_well():
    healthy = {"ready": True, "error": None, "status": {
        "service": "intake", "relay_leader": True, "problems": [], "sweeps": [], "queues": [],
        "outbox": {"rows": 0, "oldest_age_s": 0.0, "quarantined": 0},
        "dlq": {"topic": "waypoint.intake.dlq", "depth": 0, "records": 3},
        "consumers": [{"group": "waypoint.intake.referrals", "topic": "waypoint.planning.v1", "lag": 0,
                       "partitions": {"0": 0}}],
    }}
    out = _recorder()
    assert ops_cli.render_status(out, {"intake": healthy}) == 0
    assert "All well." in out.export_text()


def test_rebuild_names_are_checked():
    assert [m.name for m in resolve("monitoring", None)] == ["read-models"]
    with pytest.raises(ValueError, match="no rebuildable read model"):
        resolve("intake", None)
    with pytest.raises(ValueError, match="choose from: plans"):
        resolve("planning", "timeline")


async def test_rebuild_reports_progress_to_the_end(kafka_bootstrap, database_url):
    pid = uuid.uuid4()
    new = NewEvent(stream_id=f"participant-{pid}", stream_type="participant", agency_id="agency-ops",
                   participant_id=pid, event=ParticipantEnrolled(participant_id=pid, enrolled_at=datetime.now(UTC)),
                   metadata=Metadata(correlation_id=str(uuid.uuid4())))
    key, value, headers = cloudevents.encode(new, "intake")
    await produce_raw(kafka_bootstrap, cloudevents.topic_for("intake"), value, key=key.encode(), headers=headers)
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               operations_sample_interval_s=0) as monitoring:
        calls: list[tuple[int, int]] = []
        model = READ_MODELS["monitoring"]["read-models"]
        traced = type(model)(model.service, model.name, model.what, model.unit,
                             lambda pool, bootstrap, progress: model.run(
                                 pool, bootstrap, lambda d, t: (calls.append((d, t)), progress(d, t))))
        out = _recorder()
        result, _ = await ops_cli.run_rebuild(traced, monitoring.dsn, kafka_bootstrap, out)
        assert calls[0][0] == 0 and calls[0][1] >= 1
        assert calls[-1][0] == calls[-1][1], "the bar reaches the total"
        assert result["applied"] + result["skipped"] == calls[-1][1]
        assert await monitoring.runtime.pool.fetchval(
            "SELECT count(*) FROM timeline WHERE participant_id = $1", pid) == 1
        assert "events/s" in out.export_text()


async def test_the_batched_rebuild_applies_each_event_once_and_skips_poison(kafka_bootstrap, database_url):
    from services.monitoring.projections.rebuild import rebuild
    from shared.catalogue.monitoring import CheckInCompleted

    pid, now = uuid.uuid4(), datetime.now(UTC)
    topic = f"t.rebuild.{uuid.uuid4().hex[:8]}"

    def encoded(event, service):
        new = NewEvent(stream_id=f"s-{pid}", stream_type="s", agency_id="agency-ops", participant_id=pid,
                       event=event, metadata=Metadata(correlation_id="c"))
        key, value, headers = cloudevents.encode(new, service)
        return key.encode(), value, headers

    enrolled = encoded(ParticipantEnrolled(participant_id=pid, enrolled_at=now), "intake")
    checked_in = encoded(CheckInCompleted(participant_id=pid, check_in_id=uuid.uuid4(), craving=7, mood=3,
                                          used_since_last_check_in=False, completed_at=now), "monitoring")
    for key, value, headers in (enrolled, enrolled, checked_in):  # the enrolment delivered twice
        await produce_raw(kafka_bootstrap, topic, value, key=key, headers=headers)
    await produce_raw(kafka_bootstrap, topic, b"{not json", key=enrolled[0], headers=enrolled[2])
    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               operations_sample_interval_s=0) as monitoring:
        seen: list[tuple[int, int]] = []
        result = await rebuild(monitoring.runtime.pool, kafka_bootstrap, lambda d, t: seen.append((d, t)),
                               topics=[topic])
        assert result == {"applied": 2, "skipped": 2}
        assert seen[-1] == (4, 4)
        rows = await monitoring.runtime.pool.fetch(
            "SELECT event_type FROM timeline WHERE participant_id = $1 ORDER BY seq", pid)
        assert sorted(r["event_type"] for r in rows) == ["CheckInCompleted", "ParticipantEnrolled"]
        assert await monitoring.runtime.pool.fetchval(
            "SELECT last_craving FROM caseload WHERE participant_id = $1", pid) == 7


async def test_migrate_brings_a_service_database_to_head_and_grants_the_service_role(
    database_url, fresh_database, monkeypatch
):
    import asyncio

    import asyncpg
    from typer.testing import CliRunner

    from deploy.cli import app

    dsn = fresh_database("t_migrate")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PLANNING_DATABASE_URL", dsn)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["migrate", "planning"])
    assert result.exit_code == 0, result.output
    assert "migrated planning" in result.output
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") is not None
        assert await conn.fetchval("SELECT has_table_privilege('waypoint_app', 'outbox', 'INSERT')")
    finally:
        await conn.close()
    again = await asyncio.to_thread(CliRunner().invoke, app, ["migrate", "planning"])
    assert again.exit_code == 0, again.output
    assert (await asyncio.to_thread(CliRunner().invoke, app, ["migrate", "billing"])).exit_code == 2
