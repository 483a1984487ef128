"""Faults around the outbox relay, on real Kafka and PostgreSQL: a row Kafka refuses for good is
quarantined and the rest keep flowing; a relay whose lock connection died steps down."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

import shared.catalogue  # noqa: F401
from shared.envelope import Metadata, NewEvent
from shared.outbox import OutboxRelay, enqueue
from shared.testing.kafka import collect, eventually, header
from tests.integration.kernel.test_outbox_and_inbox import _enrolled

pytestmark = pytest.mark.integration


async def _stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _quarantined_total(service):
    return REGISTRY.get_sample_value("waypoint_outbox_quarantined_total", {"service": service}) or 0.0


async def test_a_row_kafka_refuses_for_good_is_quarantined_and_the_rows_behind_it_flow(kernel_db, kafka_bootstrap):
    pool, dsn = kernel_db
    service = "intake"
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    first = _enrolled(agency)
    events = [NewEvent(**{**first.__dict__, "event_id": uuid.uuid4(), "metadata": Metadata(correlation_id="c")})
              for _ in range(3)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, service, events)
    too_large = events[1].event_id  # the broker and the producer take at most 1 MB per record
    await pool.execute("UPDATE outbox SET value = $2 WHERE event_id = $1", too_large, b"x" * (2 * 1024 * 1024))
    before = _quarantined_total(service)
    relay = OutboxRelay(pool, dsn, kafka_bootstrap, service, poll_interval=0.1)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox"), message="the outbox to drain")
        records = await collect(kafka_bootstrap, "waypoint.intake.v1",
                                lambda r: header(r, "ce_agencyid") == agency, count=2)
        assert [header(r, "ce_id") for r in records] == [str(events[0].event_id), str(events[2].event_id)]
        kept = await pool.fetchrow("SELECT * FROM outbox_quarantine")
        assert kept["event_id"] == too_large and "MessageSizeTooLarge" in kept["reason"]
        assert len(kept["value"]) == 2 * 1024 * 1024
        assert _quarantined_total(service) == before + 1
        assert REGISTRY.get_sample_value("waypoint_outbox_quarantined_rows", {"service": service}) == 1
    finally:
        await _stop(task)


async def _lock_holder(pool, relay):
    return await pool.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint::oid",
        relay._lock_key,
    )


async def _one_true_leader(pool, *relays):
    leaders = [r for r in relays if r.is_leader]
    holder = await _lock_holder(pool, relays[0])
    return len(leaders) == 1 and holder is not None and leaders[0].lock_backend_pid == holder


async def test_a_relay_whose_lock_connection_died_steps_down(kernel_db, kafka_bootstrap):
    pool, dsn = kernel_db
    service = f"svc-{uuid.uuid4().hex[:6]}"
    first, twin = (OutboxRelay(pool, dsn, kafka_bootstrap, service, poll_interval=0.1) for _ in range(2))
    tasks = [asyncio.create_task(first.run())]
    try:
        await eventually(lambda: _one_true_leader(pool, first), message="the first relay to lead")
        tasks.append(asyncio.create_task(twin.run()))
        dead_pid = first.lock_backend_pid
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", dead_pid)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1", dead_pid),
                         message="the lock session to end")
        # The lock went with the session: whichever relay takes it now, the other must not lead.
        await eventually(lambda: _one_true_leader(pool, first, twin), timeout=15,
                         message="exactly one leader, the one holding the lock")
        assert dead_pid not in (first.lock_backend_pid, twin.lock_backend_pid)
    finally:
        for t in tasks:
            await _stop(t)
