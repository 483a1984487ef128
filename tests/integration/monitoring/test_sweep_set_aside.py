"""One participant whose stream cannot be read is set aside; the missed-check-in sweep keeps
recording everyone else's misses (real Kafka and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from services.monitoring.adapters.streams import stream_id
from shared.testing.kafka import eventually

from .helpers import enrol_directly, monitoring, stored

pytestmark = pytest.mark.integration

LOOP = "monitoring.missed-check-ins"


def _set_aside_total() -> float:
    return REGISTRY.get_sample_value("waypoint_poll_rows_set_aside_total", {"loop": LOOP}) or 0.0


async def test_a_participant_whose_stream_cannot_be_read_is_set_aside_and_the_others_are_swept(infra):
    broken, fine = uuid.uuid4(), uuid.uuid4()
    async with monitoring(infra, scheduler=False) as svc:
        pool = svc.runtime.pool
        for pid in (broken, fine):
            await enrol_directly(svc.runtime, pid, interval="PT1S")
        # An event type this version does not know, appended to the broken participant's stream
        # (a newer writer, a bad migration): the stream can no longer be folded.
        await pool.execute(
            "INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,"
            " agency_id, participant_id, occurred_at, data, metadata)"
            " SELECT stream_id, stream_type, max(stream_version) + 1, $2, 'NoSuchEventType', 1, min(agency_id), $3,"
            " now(), '{}'::jsonb, '{}'::jsonb FROM events WHERE stream_id = $1 GROUP BY stream_id, stream_type",
            stream_id(broken), uuid.uuid4(), broken,
        )
        # The broken row is due first (its deadline the earliest), every sweep would claim it first.
        await pool.execute(
            "UPDATE monitored_participants SET check_in_deadline = check_in_deadline - interval '1 hour'"
            " WHERE participant_id = $1", broken,
        )
    before = _set_aside_total()
    async with monitoring(infra, database=svc.dsn.rsplit("/", 1)[1]) as svc:

        async def fine_missed_twice():
            rows = await stored(svc.runtime, fine, "CheckInMissed")
            return len(rows) >= 2

        await eventually(fine_missed_twice, timeout=20, message="the other participant's misses")
        row = await svc.runtime.pool.fetchrow("SELECT * FROM set_aside WHERE loop = $1", LOOP)
        assert row["row_key"] == str(broken) and "NoSuchEventType" in row["reason"]
        assert _set_aside_total() == before + 1
        assert await stored(svc.runtime, broken, "CheckInMissed") == []
