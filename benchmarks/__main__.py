"""`python -m benchmarks [eventstore|relay|memory|all|tenancy|...]`: starts its own Kafka and PostgreSQL
(ports 19392 / 19432, state in .waypoint/bench) unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL are set."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
from pathlib import Path

import typer

from deploy import infra

app = typer.Typer(add_completion=False)
STATE = Path(".waypoint/bench").resolve()


#: The services' own benchmarks (issues 5 and 6), run with their defaults (the issues' figures) on
#: this command's Kafka and PostgreSQL. Not part of "all": each takes a few minutes.
SERVICE_BENCHMARKS = {
    "checkins": "benchmarks.check_ins",
    "sweep": "benchmarks.missed_sweep",
    "alerts": "benchmarks.alerts",
    "kafkapath": "benchmarks.kafka_path",
}


@app.command()
def main(
    which: str = typer.Argument(
        "all", help="all (eventstore, relay, memory), one of those, or checkins|sweep|alerts|kafkapath|rebuild|tenancy"
    ),
    keep: bool = False,
    events: int = typer.Option(1_000_000, help="rebuild: events on the topics"),
    participants: int = typer.Option(10_000, help="rebuild: participants they belong to"),
) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    endpoints = infra.start(STATE, kafka_port=int(os.environ.get("BENCH_KAFKA_PORT", "19392")),
                            pg_port=int(os.environ.get("BENCH_PG_PORT", "19432")))
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    try:
        if which in SERVICE_BENCHMARKS:
            import subprocess
            import sys

            out = STATE / f"{which}-report.json"
            command = [sys.executable, "-m", SERVICE_BENCHMARKS[which]]
            if which != "alerts":
                command += ["--out", str(out)]
            subprocess.run(command, env={**os.environ, **endpoints.as_env()}, check=True)
            return
        if which == "rebuild":
            from benchmarks import rebuild

            report["rebuild"] = asyncio.run(rebuild.run(endpoints.database_url, endpoints.kafka_bootstrap,
                                                        events=events, participants=participants))
            print(json.dumps(report["rebuild"], indent=2), flush=True)
        if which == "tenancy":
            from benchmarks import tenancy

            report["tenancy"] = asyncio.run(tenancy.run(endpoints.database_url))
            print(json.dumps(report["tenancy"], indent=2), flush=True)
        if which in ("eventstore", "all"):
            from benchmarks import eventstore

            report["eventstore"] = asyncio.run(eventstore.run(endpoints.database_url))
            print(json.dumps(report["eventstore"], indent=2), flush=True)
        if which in ("relay", "all"):
            from benchmarks import relay

            report["relay"] = asyncio.run(relay.run(endpoints.database_url, endpoints.kafka_bootstrap))
            print(json.dumps(report["relay"], indent=2), flush=True)
        if which in ("memory", "all"):
            from benchmarks import memory

            env = {**endpoints.as_env(), "LOG_JSON": "true"}
            for name in ("intake", "planning", "monitoring", "notifications"):
                env[f"{name.upper()}_DATABASE_URL"] = endpoints.database_url.rsplit("/", 1)[0] + f"/bench_{name}"
            from deploy.postgres_native import ensure_databases

            ensure_databases(endpoints.database_url, [f"bench_{n}" for n in ("intake", "planning", "monitoring",
                                                                                "notifications")])
            report["idle_rss_mb"] = memory.run(STATE, env)
            print(json.dumps(report["idle_rss_mb"], indent=2), flush=True)
    finally:
        if not keep:
            infra.stop(STATE, components=endpoints.started)
    out = STATE / "last-report.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"report: {out}")


app()
