"""Operational figures of a service: what an operator watches, as Prometheus gauges and as JSON.

Every figure is an aggregate (counts, ages, offsets); none names a participant or carries any of
their data, so the ``operator`` role may read them all.

- consumer lag: per consumer group, topic and partition, records on the partition that the group
  has not committed yet (a group that never committed lags by everything on the partition);
- outbox: rows waiting, age of the oldest, rows set aside for good (quarantine, when the kernel
  has one);
- dead-letter topic: records not yet redriven (``waypoint dlq redrive --all`` moves the
  redrive group's offset; :func:`dlq_depth`);
- sweeps: for each deadline a background loop processes, how far behind it is (age of the oldest
  deadline that has passed and is not processed yet; 0 when nothing is due);
- queues: age of the oldest item due and not yet handled (notifications' deliveries);
- relay leader: whether some process holds the service's outbox relay lock;
- set-aside rows: rows a polling loop could not handle and set aside (the kernel's ``set_aside``
  table, when the service has it), per loop; the sweeps' lateness leaves them out.

:func:`collect` computes them (the ``GET /v1/operations/status`` endpoint and the ``waypoint
status`` command show its result); :func:`run_sampler` sets the gauges every few seconds in each
service process so that ``/metrics`` exposes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Counter, Gauge

from shared.outbox import QUARANTINE_SIZE as QUARANTINED

log = structlog.get_logger(__name__)

CONSUMER_LAG = Gauge(
    "waypoint_consumer_lag", "Records on a partition the consumer group has not committed yet",
    ["service", "group", "topic", "partition"],
)
OUTBOX_ROWS = Gauge("waypoint_outbox_rows", "Outbox rows waiting for Kafka", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "waypoint_outbox_oldest_age_seconds", "Age of the oldest outbox row not yet sent (0 when empty)", ["service"]
)
# QUARANTINED is the relay's gauge (shared.outbox sets it on each quarantine); the sampler refreshes it too.
SET_ASIDE_ROWS = Gauge("waypoint_set_aside_rows", "Rows a polling loop set aside (kernel set_aside table)",
                       ["service", "loop"])
_SEEN_LOOPS: dict[str, set[str]] = {}
DLQ_DEPTH = Gauge("waypoint_dlq_depth", "Records on the dead-letter topic not yet redriven", ["service", "topic"])
SWEEP_LATENESS = Gauge(
    "waypoint_sweep_lateness_seconds", "Age of the oldest passed deadline a sweep has not processed yet",
    ["service", "sweep"],
)
QUEUE_AGE = Gauge("waypoint_queue_age_seconds", "Age of the oldest due item not yet handled", ["service", "queue"])
RELAY_LEADER = Gauge("waypoint_relay_leader", "1 when this process leads the outbox relay, else 0", ["service"])
SAMPLE_ERRORS = Counter("waypoint_operations_sample_errors_total", "Failed samples of the figures", ["service"])

#: When ``problems`` reports a figure (the alert rules in deploy/prometheus use the same values).
THRESHOLDS = {
    "consumer_lag": 1000,  # records per group and topic
    "outbox_oldest_age_s": 60.0,
    "sweep_lateness_s": 300.0,
    "queue_age_s": 300.0,
}


def dlq_redrive_group(service: str) -> str:
    """The consumer group whose committed offsets mark how far the dead-letter topic was redriven."""
    return f"waypoint.{service}.dlq-redrive"


def relay_lock_key(service: str) -> int:
    """The advisory lock key the outbox relay of ``service`` holds while it leads."""
    return zlib.crc32(f"waypoint-outbox-{service}".encode())


@dataclass(frozen=True)
class Probe:
    """A service-specific figure: the age of the oldest row of ``table`` whose ``due_column`` has
    passed (and that matches ``where``); 0 when none.

    ``kind`` is ``"sweep"`` (lateness of a deadline sweep) or ``"queue"`` (age of a queue). ``loop``
    and ``key`` name the polling loop that works through these rows and the row key it sets a bad
    row aside by: rows in the kernel's ``set_aside`` table are left out (they are counted apart).
    """

    name: str
    kind: str
    table: str
    due_column: str
    where: str = "TRUE"
    loop: str | None = None
    key: str | None = None

    def sql(self, *, set_aside_table: bool) -> str:
        condition = f"{self.due_column} <= now() AND ({self.where})"
        if set_aside_table and self.loop and self.key:
            condition += (f" AND NOT EXISTS (SELECT 1 FROM set_aside sa WHERE sa.loop = '{self.loop}'"
                          f" AND sa.row_key = ({self.key})::text)")
        return (f"SELECT extract(epoch FROM now() - min({self.due_column}))::float8"
                f" FROM {self.table} WHERE {condition}")


@dataclass(frozen=True)
class GroupSpec:
    """A consumer group and the topics it reads."""

    group: str
    topics: Sequence[str]


# --- Kafka ------------------------------------------------------------------------------------


async def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    cluster = await consumer._client.fetch_all_metadata()  # no public call for unsubscribed topics
    return [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {TopicPartition(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def kafka_figures(
    bootstrap: str, groups: Sequence[GroupSpec], dlq_topics: dict[str, str],
    client_options: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Consumer lag of ``groups`` and depth of the dead-letter topics (``{service: topic}``);
    ``client_options``: the security options of the clients (ServiceSettings.kafka_client_options)."""
    options = client_options or {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=10000, **options)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **options)
    await consumer.start()
    try:
        await admin.start()
        topics = sorted({t for g in groups for t in g.topics} | set(dlq_topics.values()))
        partitions = await _partitions(consumer, topics)
        end = await consumer.end_offsets(partitions) if partitions else {}
        start = await consumer.beginning_offsets(partitions) if partitions else {}
        lag_rows = []
        for spec in groups:
            committed = await _committed(admin, spec.group)
            for topic in spec.topics:
                parts = [tp for tp in partitions if tp.topic == topic]
                per_partition = {
                    tp.partition: max(0, end[tp] - max(committed.get(tp, start[tp]), start[tp])) for tp in parts
                }
                lag_rows.append({"group": spec.group, "topic": topic, "lag": sum(per_partition.values()),
                                 "partitions": per_partition})
        dlq_rows = []
        for service, topic in dlq_topics.items():
            committed = await _committed(admin, dlq_redrive_group(service))
            parts = [tp for tp in partitions if tp.topic == topic]
            total = sum(end[tp] - start[tp] for tp in parts)
            waiting = sum(max(0, end[tp] - max(committed.get(tp, start[tp]), start[tp])) for tp in parts)
            dlq_rows.append({"topic": topic, "depth": waiting, "records": total})
        return lag_rows, dlq_rows
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
        with contextlib.suppress(Exception):
            await consumer.stop()


# --- PostgreSQL -------------------------------------------------------------------------------


async def _table_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name))


async def database_figures(conn: asyncpg.Connection, service: str, probes: Sequence[Probe]) -> dict[str, Any]:
    """Outbox, quarantine, relay leadership and the service's probes, read from its database."""
    row = await conn.fetchrow(
        "SELECT count(*) AS rows,"
        " coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest FROM outbox"
    )
    quarantined = None
    if await _table_exists(conn, "outbox_quarantine"):
        quarantined = await conn.fetchval("SELECT count(*) FROM outbox_quarantine")
    has_set_aside = await _table_exists(conn, "set_aside")
    set_aside = []
    if has_set_aside:
        set_aside = [{"loop": r["loop"], "rows": r["n"]}
                     for r in await conn.fetch("SELECT loop, count(*) AS n FROM set_aside GROUP BY loop ORDER BY loop")]
    leader = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        relay_lock_key(service),
    )
    figures: dict[str, Any] = {
        "outbox": {"rows": row["rows"], "oldest_age_s": round(row["oldest"], 3), "quarantined": quarantined},
        "relay_leader": leader > 0,
        "sweeps": [],
        "queues": [],
        "set_aside": set_aside if has_set_aside else None,
    }
    for probe in probes:
        value = await conn.fetchval(probe.sql(set_aside_table=has_set_aside))
        seconds = round(max(0.0, float(value)), 3) if value is not None else 0.0
        figures["sweeps" if probe.kind == "sweep" else "queues"].append({"name": probe.name, "age_s": seconds})
    return figures


# --- both -------------------------------------------------------------------------------------


async def collect(
    *,
    service: str,
    pool: asyncpg.Pool,
    bootstrap: str,
    groups: Sequence[GroupSpec],
    dlq_topic: str,
    probes: Sequence[Probe] = (),
    client_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every figure of ``service`` as a JSON-ready dict, with the ``problems`` an operator should act on."""
    async with pool.acquire() as conn:
        figures = await database_figures(conn, service, probes)
    status: dict[str, Any] = {"service": service, "checked_at": datetime.now(UTC).isoformat(), **figures}
    try:
        lag, dlq = await asyncio.wait_for(kafka_figures(bootstrap, groups, {service: dlq_topic}, client_options), 20)
        status["consumers"], status["dlq"] = lag, dlq[0]
        status["kafka"] = True
    except Exception as exc:  # Kafka unreachable: the database figures still count
        log.warning("kafka figures unavailable", error=repr(exc))
        status["consumers"], status["dlq"], status["kafka"] = [], None, False
    status["problems"] = problems(status)
    return status


def problems(status: dict[str, Any]) -> list[str]:
    """What is wrong in a :func:`collect` result, in words (empty when all is well)."""
    found = []
    if not status.get("kafka", True):
        found.append("Kafka is not reachable")
    if not status["relay_leader"]:
        found.append("no outbox relay leads")
    outbox = status["outbox"]
    if outbox["oldest_age_s"] > THRESHOLDS["outbox_oldest_age_s"]:
        found.append(f"oldest outbox row waits {outbox['oldest_age_s']:.0f}s")
    if outbox.get("quarantined"):
        found.append(f"{outbox['quarantined']} outbox rows quarantined")
    for row in status.get("consumers", []):
        if row["lag"] > THRESHOLDS["consumer_lag"]:
            found.append(f"{row['group']} lags {row['lag']} records on {row['topic']}")
    if status.get("dlq") and status["dlq"]["depth"]:
        found.append(f"{status['dlq']['depth']} records on {status['dlq']['topic']}")
    for sweep in status["sweeps"]:
        if sweep["age_s"] > THRESHOLDS["sweep_lateness_s"]:
            found.append(f"sweep {sweep['name']} is {sweep['age_s']:.0f}s late")
    for queue in status["queues"]:
        if queue["age_s"] > THRESHOLDS["queue_age_s"]:
            found.append(f"queue {queue['name']} has items waiting {queue['age_s']:.0f}s")
    for row in status.get("set_aside") or []:
        found.append(f"{row['rows']} rows set aside by {row['loop']}")
    return found


def publish(status: dict[str, Any], *, is_leader: bool) -> None:
    """Set the gauges from a :func:`collect` result (``is_leader``: this process's relay)."""
    service = status["service"]
    RELAY_LEADER.labels(service).set(1 if is_leader else 0)
    OUTBOX_ROWS.labels(service).set(status["outbox"]["rows"])
    OUTBOX_OLDEST_AGE.labels(service).set(status["outbox"]["oldest_age_s"])
    if status["outbox"]["quarantined"] is not None:
        QUARANTINED.labels(service).set(status["outbox"]["quarantined"])
    for row in status["consumers"]:
        for partition, lag in row["partitions"].items():
            CONSUMER_LAG.labels(service, row["group"], row["topic"], str(partition)).set(lag)
    if status["dlq"] is not None:
        DLQ_DEPTH.labels(service, status["dlq"]["topic"]).set(status["dlq"]["depth"])
    for sweep in status["sweeps"]:
        SWEEP_LATENESS.labels(service, sweep["name"]).set(sweep["age_s"])
    for queue in status["queues"]:
        QUEUE_AGE.labels(service, queue["name"]).set(queue["age_s"])
    if status.get("set_aside") is not None:
        counts = {row["loop"]: row["rows"] for row in status["set_aside"]}
        for loop in {*counts, *_SEEN_LOOPS.get(service, set())}:  # a loop emptied by the operator goes to 0
            SET_ASIDE_ROWS.labels(service, loop).set(counts.get(loop, 0))
        _SEEN_LOOPS.setdefault(service, set()).update(counts)


async def run_sampler(rt: Any, interval_s: float) -> None:
    """Background loop of a service: sample the figures and set the gauges every ``interval_s``."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            status = await collect_for(rt)
            # The relay sets the quarantine gauge too, when it moves a row: count again right before
            # publishing, so a count taken before the Kafka calls cannot overwrite a newer one.
            if status["outbox"]["quarantined"] is not None:
                status["outbox"]["quarantined"] = await rt.pool.fetchval("SELECT count(*) FROM outbox_quarantine")
            publish(status, is_leader=rt.relay.is_leader)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database outage: try again at the next tick
            SAMPLE_ERRORS.labels(rt.service).inc()
            log.warning("operations sample failed", error=repr(exc))


async def collect_for(rt: Any) -> dict[str, Any]:
    """:func:`collect` for a running service (its runtime: consumers, probes, pool)."""
    from shared.inbox import dlq_topic

    return await collect(
        service=rt.service,
        pool=rt.pool,
        bootstrap=rt.settings.kafka_bootstrap_servers,
        groups=[GroupSpec(c.group_id, c.topics) for c in rt.consumers],
        dlq_topic=dlq_topic(rt.service),
        probes=rt.probes,
        client_options=rt.settings.kafka_client_options(),
    )
