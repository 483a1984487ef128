"""Benchmark: check-ins through the HTTP API, accept-to-timeline latency, against raw Kafka.

    python -m benchmarks.check_ins --rate 500 --duration 60

Starts the four services as processes on fresh databases (Kafka and PostgreSQL from the
environment or ``.waypoint/infra.env``), enrols ``--participants`` people through intake, then
posts check-ins to monitoring open-loop at ``--rate`` per second for ``--duration`` seconds over
keep-alive connections. It reports:

- accepted check-ins per second and HTTP latency;
- accept-to-timeline: from the moment the API accepted a check-in (its ``occurred_at``) to its
  timeline row being visible, bounded from above by the later of the row's ``projected_at`` and
  the 201 reaching the client (the row is committed before the API answers);
- accept-to-Kafka-consumer: when each ``CheckInCompleted`` reached a consumer group of its own on
  monitoring's topic (outbox, relay, broker, consumer: what other services and integrators see);
- raw aiokafka produce-to-consume latency on the same broker at the same rate, in the same run,
  and the ratios;
- CPU milliseconds per check-in of each process group sharing the machine, and the check-in
  writer's batch sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.common import create_topics, endpoints, summary
from deploy.services import start_services, stop_services
from shared import catalogue  # noqa: F401
from shared.auth import issue_token
from shared.catalogue.intake import ParticipantEnrolled
from shared.cloudevents import encode, topic_for
from shared.db import ensure_database
from shared.envelope import Metadata, NewEvent
from shared.settings import database_for
from shared.testing.auth import DEV_SECRET

#: the four services' ports: BENCH_HTTP_BASE + 1..4 (default 31870), so runs side by side can keep apart
_BASE = int(os.environ.get("BENCH_HTTP_BASE", "31870"))
PORTS = {"intake": _BASE + 1, "planning": _BASE + 2, "monitoring": _BASE + 3, "notifications": _BASE + 4}
AGENCY = "agency-bench"


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection (the load generator must stay cheap)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status, body


async def raw_kafka(bootstrap: str, rate: float, duration: float) -> dict[str, Any]:
    """Produce-to-consume latency of plain aiokafka (acks=all, idempotent) at the same rate."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    await asyncio.sleep(2)  # group join
    latencies: list[float] = []
    total = int(rate * duration)
    payload = b"x" * 600

    async def consume() -> None:
        while len(latencies) < total:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for r in records:
                    latencies.append(now - float(r.key.decode()))

    task = asyncio.create_task(consume())
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await producer.send(topic, payload, key=repr(time.time()).encode())
    sent_s = time.monotonic() - start
    await asyncio.wait_for(task, 60)
    await producer.stop()
    await consumer.stop()
    return {"sent": total, "rate_per_s": round(total / sent_s, 1), "latency_ms": _ms(summary(latencies))}


def scrape_writer_metrics(url: str) -> dict[str, float]:
    """Mean batch size and write time of the check-in writer (of the worker that answers)."""
    import httpx

    values: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("waypoint_monitoring_check_in_batch_") and name.endswith(("_sum", "_count")):
            values[name] = float(value)
    batches = values.get("waypoint_monitoring_check_in_batch_size_count", 0) or 1
    return {
        "batches": values.get("waypoint_monitoring_check_in_batch_size_count", 0),
        "mean_batch_size": round(values.get("waypoint_monitoring_check_in_batch_size_sum", 0) / batches, 1),
        "mean_batch_ms": round(1000 * values.get("waypoint_monitoring_check_in_batch_seconds_sum", 0) / batches, 1),
    }


def cpu_seconds(state: Path) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process group that shares the machine:
    the four services (with their worker children), Kafka, PostgreSQL and this load generator."""

    import psutil

    def tree(proc: psutil.Process) -> float:
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    out: dict[str, float] = {}
    for name in PORTS:
        try:
            out[name] = tree(psutil.Process(int((state / "services" / f"{name}.pid").read_text())))
        except (OSError, ValueError, psutil.Error):
            out[name] = 0.0
    out["kafka"] = out["postgres"] = 0.0
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            t = p.cpu_times()
        except psutil.Error:
            continue
        if p.info["name"] == "java" and "kafka" in cmd:
            out["kafka"] += t.user + t.system
        elif (p.info["name"] or "").startswith("postgres"):
            out["postgres"] += t.user + t.system
    me = psutil.Process(os.getpid()).cpu_times()
    out["load_generator"] = me.user + me.system
    return out


def _ms(s: dict[str, float]) -> dict[str, float]:
    return {k: (v if k == "n" else round(v * 1000, 1)) for k, v in s.items()}


async def enrol(urls: dict[str, str], bootstrap: str, participants: int, monitoring_dsn: str) -> list[str]:
    token = issue_token(DEV_SECRET, sub="crs-bench", agency_id=AGENCY, roles=["specialist"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    host, port = "127.0.0.1", int(urls["intake"].rsplit(":", 1)[1])
    ids: list[str] = []
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(Connection(host, port))

    async def one(i: int) -> None:
        conn = await pool.get()
        try:
            body = orjson.dumps({"display_name": f"Bench Person {i}", "specialist_id": f"crs-{i % 40}"})
            status, out = await conn.request("POST", "/v1/participants", headers, body)
            if status == 201:
                ids.append(orjson.loads(out)["participant_id"])
        finally:
            pool.put_nowait(conn)

    await asyncio.gather(*(one(i) for i in range(participants)))
    if len(ids) < participants:  # intake refused: enrol the rest as intake would, on its topic
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        for _ in range(participants - len(ids)):
            pid = uuid.uuid4()
            new = NewEvent(
                stream_id=f"participant-{pid}",
                stream_type="participant",
                agency_id=AGENCY,
                participant_id=pid,
                metadata=Metadata(correlation_id=str(uuid.uuid4())),
                event=ParticipantEnrolled(participant_id=pid, specialist_id="crs-1", enrolled_at=datetime.now(UTC)),
            )
            key, value, hdrs = encode(new, "intake")
            await producer.send(topic_for("intake"), value, key=key.encode() if key else None, headers=hdrs)
            ids.append(str(pid))
        await producer.flush()
        await producer.stop()
    conn = await asyncpg.connect(monitoring_dsn)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            n = await conn.fetchval("SELECT count(*) FROM monitored_participants WHERE active")
            if n >= participants:
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    return ids


async def load(url: str, ids: list[str], rate: float, duration: float, connections: int,
               idempotency_keys: bool = False) -> list[dict[str, Any]]:
    token = issue_token(DEV_SECRET, sub="crs-bench", agency_id=AGENCY, roles=["specialist"], ttl_s=7200)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    rng = random.Random(11)
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    results: list[dict[str, Any]] = []

    async def worker() -> None:
        conn = Connection(host, port)
        while (item := await queue.get()) is not None:
            i, scheduled = item
            pid = ids[i % len(ids)]
            craving = rng.choice([0, 1, 2, 2, 3, 3, 4, 5, 6, 7]) if rng.random() > 0.05 else rng.randint(8, 10)
            body = orjson.dumps({"craving": craving, "mood": rng.randint(1, 5), "support_meeting_attended": True})
            sent = time.time()
            keyed = {**headers, "Idempotency-Key": f'"{uuid.uuid4()}"'} if idempotency_keys else headers
            status, out = await conn.request("POST", f"/v1/participants/{pid}/check-ins", keyed, body)
            results.append(
                {
                    "status": status,
                    "scheduled": scheduled,
                    "sent": sent,
                    "done": time.time(),
                    "check_in_id": orjson.loads(out).get("check_in_id") if status == 201 else None,
                }
            )

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start_wall, start = time.time(), time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, start_wall + i / rate))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return results


async def timeline_rows(dsn: str, accepted: int, wait_s: float = 60) -> dict[str, tuple[float, float]]:
    """check_in_id -> (occurred_at, projected_at) of every CheckInCompleted in the timeline."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            n = await conn.fetchval("SELECT count(*) FROM timeline WHERE event_type = 'CheckInCompleted'")
            if n >= accepted:
                break
            await asyncio.sleep(0.5)
        rows = await conn.fetch(
            "SELECT data->>'check_in_id' AS id, extract(epoch FROM occurred_at) AS o,"
            " extract(epoch FROM projected_at) AS p FROM timeline WHERE event_type = 'CheckInCompleted'"
        )
        return {r["id"]: (float(r["o"]), float(r["p"])) for r in rows}
    finally:
        await conn.close()


async def watch_topic(bootstrap: str, seen: dict[str, float], ready: asyncio.Event) -> None:
    """Record when each CheckInCompleted reaches a fresh consumer group of monitoring's topic:
    the path every other service and integrator sees (outbox, relay, broker, consumer)."""
    consumer = AIOKafkaConsumer(
        topic_for("monitoring"),
        bootstrap_servers=bootstrap,
        group_id=f"bench-watch-{uuid.uuid4().hex}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        for tp in consumer.assignment():
            await consumer.seek_to_end(tp)
        ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for r in records:
                    if dict(r.headers).get("ce_type", b"").startswith(b"waypoint.monitoring.CheckInCompleted."):
                        seen[orjson.loads(r.value)["check_in_id"]] = now
    finally:
        await consumer.stop()


def _start_monitoring_workers(state: Path, env: dict[str, str], workers: int) -> None:
    """Monitoring as ``workers`` uvicorn processes (replicas sharing relay leadership, consumer
    partitions and sweeps); ``start_services`` then sees it running and only waits for it."""
    import subprocess
    import sys

    run_dir = state / "services"
    run_dir.mkdir(parents=True, exist_ok=True)
    log = (run_dir / "monitoring.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.monitoring.entrypoints.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(PORTS["monitoring"]), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    (run_dir / "monitoring.pid").write_text(str(proc.pid))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server, bootstrap = endpoints()
    run_id = uuid.uuid4().hex[:6]
    state = Path(".waypoint") / f"bench-services-{run_id}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": server,
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",
        "MONITORING_SCHEDULER_IDLE_POLL_S": "1.0",
    }
    for name in PORTS:
        await ensure_database(server, f"bench_{name}_{run_id}")
        env[f"{name.upper()}_DATABASE_URL"] = database_for(server, f"bench_{name}_{run_id}")
    monitoring_dsn = env["MONITORING_DATABASE_URL"]
    if args.monitoring_workers > 1:
        _start_monitoring_workers(state, env, args.monitoring_workers)
    urls = await asyncio.to_thread(start_services, state, env, ports=PORTS, timeout=120)
    try:
        ids = await enrol(urls, bootstrap, args.participants, monitoring_dsn)
        raw = await raw_kafka(bootstrap, args.rate, min(args.duration, 20))
        on_kafka: dict[str, float] = {}
        watching = asyncio.Event()
        watcher = asyncio.create_task(watch_topic(bootstrap, on_kafka, watching))
        await asyncio.wait_for(watching.wait(), 60)
        cpu_before, wall_before = cpu_seconds(state), time.monotonic()
        results = await load(urls["monitoring"], ids, args.rate, args.duration, args.connections,
                             args.idempotency_keys)
        accepted = [r for r in results if r["status"] == 201]
        rows = await timeline_rows(monitoring_dsn, len(accepted))
        wait_until = time.monotonic() + 60
        while len(on_kafka) < len(accepted) and time.monotonic() < wait_until:
            await asyncio.sleep(0.2)
        cpu_after, wall = cpu_seconds(state), time.monotonic() - wall_before
        writer_metrics = await asyncio.to_thread(scrape_writer_metrics, urls["monitoring"])
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    finally:
        await asyncio.to_thread(stop_services, state)
    span = max(r["done"] for r in results) - min(r["sent"] for r in results)
    http = [r["done"] - r["sent"] for r in accepted]
    queued = [r["done"] - r["scheduled"] for r in accepted]
    # Accepted = the API took the check-in (its occurred_at). In the timeline = the row is visible
    # to readers: its transaction committed. The row's projected_at is written before the commit,
    # so the bound used is the later of projected_at and the moment the 201 came back (the API
    # answers only after the commit): an upper bound on the true delay.
    latencies = [
        max(rows[r["check_in_id"]][1], r["done"]) - rows[r["check_in_id"]][0]
        for r in accepted
        if r["check_in_id"] in rows
    ]
    projected = len(latencies)
    end_to_end = summary(latencies)
    occurred = {cid: o for cid, (o, _) in rows.items()}
    via_kafka = summary([t - occurred[cid] for cid, t in on_kafka.items() if cid in occurred])
    return {
        "rate_target_per_s": args.rate,
        "monitoring_workers": args.monitoring_workers,
        "idempotency_keys": args.idempotency_keys,
        "duration_s": args.duration,
        "participants": len(ids),
        "requests": len(results),
        "accepted": len(accepted),
        "statuses": {str(s): sum(1 for r in results if r["status"] == s) for s in {r["status"] for r in results}},
        "accepted_per_s": round(len(accepted) / span, 1),
        "http_latency_ms": _ms(summary(http)),
        "scheduled_to_response_ms": _ms(summary(queued)),
        "projected_in_timeline": projected,
        "accept_to_timeline_ms": _ms(end_to_end),
        "accept_to_kafka_consumer_ms": _ms(via_kafka),
        "check_in_writer": writer_metrics,
        "raw_aiokafka": raw,
        # CPU milliseconds per accepted check-in, by process group, over the load phase (including
        # the consumers catching up); the machine has os.cpu_count() cores x wall seconds.
        "cpu_ms_per_check_in": {
            k: round((cpu_after[k] - cpu_before[k]) * 1000 / max(1, len(accepted)), 2) for k in cpu_after
        },
        "cpu_busy_share": round(
            sum(cpu_after[k] - cpu_before[k] for k in cpu_after) / (wall * (os.cpu_count() or 1)), 2
        ),
        # Ratios against raw aiokafka: the timeline (what the issue asks for) and the Kafka path
        # (outbox + relay + broker + consumer against producer + broker + consumer).
        "p99_ratio_timeline_vs_raw_kafka": round(end_to_end["p99"] * 1000 / raw["latency_ms"]["p99"], 2),
        "p50_ratio_timeline_vs_raw_kafka": round(end_to_end["p50"] * 1000 / raw["latency_ms"]["p50"], 2),
        "p99_ratio_kafka_path_vs_raw_kafka": round(via_kafka["p99"] * 1000 / raw["latency_ms"]["p99"], 2),
        "p50_ratio_kafka_path_vs_raw_kafka": round(via_kafka["p50"] * 1000 / raw["latency_ms"]["p50"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--monitoring-workers", type=int, default=1, help="uvicorn worker processes for monitoring")
    parser.add_argument("--idempotency-keys", action="store_true",
                        help="send an Idempotency-Key with every check-in (as a client that retries would)")
    parser.add_argument("--out")
    args = parser.parse_args()
    from shared.tenancy import system_scope

    with system_scope():  # the benchmark inspects every agency's rows (the services' requests stay scoped)
        result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
