"""One alert whose stream cannot be read is set aside; the escalation sweep keeps escalating the
others (real Kafka, PostgreSQL and SMTP)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY
from test_notifications_flow import Agency, enrol, now, store_events

from services.notifications.application.escalations import LOOP
from shared.catalogue.monitoring import HelpRequested
from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration


async def _specialist_alert(service, upstream, agency):
    pid = await enrol(upstream, agency)
    await eventually(  # enrolment and help requests travel on different topics
        lambda: service.runtime.pool.fetchval("SELECT 1 FROM recipient_directory WHERE participant_id = $1", pid),
        timeout=15, message="the enrolment in the directory")
    await upstream.publish(HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
                           agency_id=agency.id, participant_id=pid)

    async def alert_id():
        return await service.runtime.pool.fetchval(
            "SELECT alert_id FROM alerts WHERE participant_id = $1 AND recipient_role = 'specialist'", pid
        )

    return pid, await eventually(alert_id, timeout=15, message="the specialist's alert")


async def test_an_alert_whose_stream_cannot_be_read_is_set_aside_and_the_others_escalate(service, upstream, mail):
    agency = await Agency(service).setup()
    pool = service.runtime.pool
    before = REGISTRY.get_sample_value("waypoint_poll_rows_set_aside_total", {"loop": LOOP}) or 0.0
    _, broken = await _specialist_alert(service, upstream, agency)
    await pool.execute(  # an event type this version does not know: the alert cannot be folded
        "INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,"
        " agency_id, participant_id, occurred_at, data, metadata)"
        " SELECT stream_id, stream_type, max(stream_version) + 1, $2, 'NoSuchEventType', 1, min(agency_id),"
        " min(participant_id::text)::uuid, now(), '{}'::jsonb, '{}'::jsonb FROM events WHERE stream_id = $1"
        " GROUP BY stream_id, stream_type",
        f"alert-{broken}", uuid.uuid4(),
    )
    # Overdue first, so every sweep meets it before the others.
    await pool.execute("UPDATE alerts SET acknowledge_by = now() - interval '1 hour' WHERE alert_id = $1", broken)
    pid, fine = await _specialist_alert(service, upstream, agency)

    async def escalated():
        return [e for e in await store_events(service, "AlertEscalated", pid) if e["data"]["alert_id"] == str(fine)]

    await eventually(escalated, timeout=20, message="the other alert's escalation")
    aside = await pool.fetchrow("SELECT * FROM set_aside WHERE loop = $1 AND row_key = $2", LOOP, str(broken))
    assert "NoSuchEventType" in aside["reason"]
    assert REGISTRY.get_sample_value("waypoint_poll_rows_set_aside_total", {"loop": LOOP}) == before + 1
