"""The single entry point for Waypoint's infrastructure (Kafka + PostgreSQL), for dev and tests.

Each service is resolved independently, in this order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` set in the environment: used as given (never
   started or stopped by us);
2. else, if a Docker engine is reachable: containers via testcontainers (:mod:`deploy.docker_infra`);
3. else: native processes (:mod:`deploy.kafka_native`, :mod:`deploy.postgres_native`).

What was chosen is recorded in ``<state_dir>/infra.json`` so that ``stop``/``status`` and the
Kafka outage helpers act on the right thing, and ``<state_dir>/infra.env`` holds the endpoints
as ``KEY=value`` lines for shells and services.

CLI::

    python -m deploy.infra up|down|status|kafka-stop|kafka-start \\
        [--state-dir .waypoint] [--kafka-port 9092] [--pg-port 55432]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from deploy import docker_infra
from deploy._util import file_lock
from deploy.kafka_native import NativeKafka, NativeKafkaCluster, cluster_ports
from deploy.kafka_native import probe as probe_kafka
from deploy.postgres_native import NativePostgres, asyncpg_url, ensure_databases, url_for_database
from deploy.postgres_native import probe as probe_postgres

__all__ = [
    "DATABASES",
    "DEFAULT_STATE_DIR",
    "Endpoints",
    "KafkaNotManagedError",
    "ensure_databases",
    "start",
    "start_kafka",
    "status",
    "stop",
    "stop_kafka",
    "url_for_database",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".waypoint"
DEFAULT_KAFKA_PORT = 9092
DEFAULT_PG_PORT = 55432
DATABASES = ["waypoint_intake", "waypoint_planning", "waypoint_monitoring", "waypoint_notifications"]
KAFKA, POSTGRES = "kafka", "postgres"
ENV, DOCKER, NATIVE = "env", "docker", "native"


@dataclass(frozen=True)
class Endpoints:
    """Where the services are, how they were provided, and what this call started."""

    kafka_bootstrap: str
    database_url: str  # asyncpg-style server URL, database "postgres"
    kafka_source: str = NATIVE  # "env" | "docker" | "native"
    postgres_source: str = NATIVE
    started: frozenset[str] = field(default_factory=frozenset)  # subset of {"kafka", "postgres"}
    kafka_brokers: int = 1

    def as_env(self) -> dict[str, str]:
        """The endpoints as environment variables (with a cluster: the topics' replication)."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "DATABASE_URL": self.database_url}
        if self.kafka_brokers >= 3:
            env |= {"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}
        return env


class KafkaNotManagedError(RuntimeError):
    """Kafka was given from outside (KAFKA_BOOTSTRAP_SERVERS), so it cannot be stopped/started."""


# --- state file ------------------------------------------------------------------------------


def _load(state_dir: Path) -> dict:
    try:
        return json.loads((state_dir / "infra.json").read_text())
    except (OSError, ValueError):
        return {}


def _save(state_dir: Path, state: dict) -> None:
    path = state_dir / "infra.json"
    if state:
        path.write_text(json.dumps(state, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)


def _lock(state_dir: Path):
    return file_lock(state_dir / ".lock")


# --- start / stop ----------------------------------------------------------------------------


def _start_kafka(state_dir: Path, port: int, docker_ok: bool, auto_create: bool = False,
                 brokers: int = 1) -> tuple[str, str, bool]:
    if given := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        _wait_given(lambda: probe_kafka(given), f"Kafka at KAFKA_BOOTSTRAP_SERVERS={given}")
        return ENV, given, False
    if docker_ok:
        bootstrap, started = docker_infra.start_kafka(port)
        return DOCKER, bootstrap, started
    # WAYPOINT_KAFKA_SASL_PORT adds the SASL/SCRAM listener with ACLs (`waypoint up` sets 9094).
    sasl_port = int(os.environ["WAYPOINT_KAFKA_SASL_PORT"]) if os.environ.get("WAYPOINT_KAFKA_SASL_PORT") else None
    if brokers == 3:
        cluster = NativeKafkaCluster(state_dir / "kafka-cluster", cluster_ports(port))
        return NATIVE, cluster.bootstrap, cluster.start()
    if brokers != 1:
        raise ValueError(f"KAFKA_BROKERS={brokers}: 1 or 3 brokers are supported")
    kafka = NativeKafka(state_dir / "kafka", port=port, sasl_port=sasl_port, auto_create_topics=auto_create)
    started = kafka.start()
    return NATIVE, kafka.bootstrap, started


def _start_postgres(state_dir: Path, port: int, docker_ok: bool) -> tuple[str, str, bool]:
    if given := os.environ.get("DATABASE_URL"):
        given = asyncpg_url(given)
        _wait_given(lambda: probe_postgres(given), "PostgreSQL at DATABASE_URL")
        return ENV, given, False
    if docker_ok:
        url, started = docker_infra.start_postgres(port)
        return DOCKER, url, started
    pg = NativePostgres(state_dir / "postgres", port=port)
    started = pg.start()
    return NATIVE, pg.url, started


def _wait_given(check, what: str, timeout: float = 60) -> None:
    """Externally provided services get a grace period (CI services may still be booting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{what} is not answering after {timeout:.0f}s: {exc!r}") from exc
            time.sleep(1)


def start(
    state_dir: Path = DEFAULT_STATE_DIR,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    pg_port: int = DEFAULT_PG_PORT,
    databases: Iterable[str] = DATABASES,
    *,
    kafka_auto_create_topics: bool = False,
    kafka_brokers: int | None = None,
) -> Endpoints:
    """Make Kafka and PostgreSQL available (env > Docker > native) and return their endpoints.

    Idempotent: services already running for `state_dir` are reused (and not listed in
    ``Endpoints.started``). Creates `databases` if missing and writes ``infra.env``/``infra.json``.
    If one service fails, whatever this call started is stopped again before re-raising.

    ``kafka_brokers`` (default ``$KAFKA_BROKERS``, else 1): 3 starts a three-node KRaft cluster
    natively (ports from :func:`deploy.kafka_native.cluster_ports`), and the services are told to
    create their topics with replication factor 3 and ``min.insync.replicas=2``.
    """
    brokers = kafka_brokers or int(os.environ.get("KAFKA_BROKERS") or 1)
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    need_docker = not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"))
    docker_ok = need_docker and docker_infra.docker_available()
    with _lock(state_dir):
        state = _load(state_dir)
        started: set[str] = set()
        try:
            k_source, bootstrap, k_started = _start_kafka(state_dir, kafka_port, docker_ok,
                                                          kafka_auto_create_topics, brokers)
            previous = state.get(KAFKA) or {}
            # A broker already running keeps the settings it was started with (a later restart
            # of it, e.g. after an outage test, must not change them).
            auto_create = kafka_auto_create_topics if k_started else previous.get("auto_create",
                                                                                   kafka_auto_create_topics)
            state[KAFKA] = {"source": k_source, "port": kafka_port, "endpoint": bootstrap,
                            "auto_create": auto_create, "brokers": brokers}
            started |= {KAFKA} if k_started else set()
            p_source, db_url, p_started = _start_postgres(state_dir, pg_port, docker_ok)
            state[POSTGRES] = {"source": p_source, "port": pg_port, "endpoint": db_url}
            started |= {POSTGRES} if p_started else set()
            ensure_databases(db_url, list(databases))
        except BaseException:
            _stop_locked(state_dir, state, started)
            raise
        _save(state_dir, state)
        endpoints = Endpoints(bootstrap, db_url, k_source, p_source, frozenset(started),
                              kafka_brokers=brokers if k_source == NATIVE else 1)
        (state_dir / "infra.env").write_text("".join(f"{k}={v}\n" for k, v in endpoints.as_env().items()))
        return endpoints


def _stop_component(state_dir: Path, name: str, record: dict | None, remove: bool = True) -> bool:
    stopped = False
    if record is not None and record.get("source") == DOCKER:
        container = (docker_infra.kafka_name if name == KAFKA else docker_infra.postgres_name)(record["port"])
        stopped = docker_infra.stop_container(container, remove=remove)
    # A native process living in this state dir is ours whatever the record says (the record may
    # have been rewritten, e.g. by a later start() under KAFKA_BOOTSTRAP_SERVERS): never leak it.
    if name == KAFKA:
        stopped |= NativeKafka(state_dir / "kafka").stop()
        stopped |= NativeKafkaCluster(state_dir / "kafka-cluster", cluster_ports(record["port"] if record else 9092)
                                      ).stop()
    else:
        pg = NativePostgres(state_dir / "postgres")  # its data may live elsewhere (see _reachable_home)
        if pg.data_dir.exists():
            stopped |= pg.stop()
    return stopped


def _stop_locked(state_dir: Path, state: dict, components: Iterable[str]) -> list[str]:
    stopped = []
    for name in components:
        if _stop_component(state_dir, name, state.get(name)):
            stopped.append(name)
        state.pop(name, None)
    return stopped


def stop(state_dir: Path = DEFAULT_STATE_DIR, components: Iterable[str] = (KAFKA, POSTGRES)) -> list[str]:
    """Stop the managed (native or Docker) services of `state_dir`; returns the names stopped.

    Externally given services are never touched. Native data stays on disk (a later ``start``
    reuses it); Docker containers are removed. Pass `components` to stop only some services,
    e.g. ``Endpoints.started`` to undo exactly what one ``start`` call did.
    """
    state_dir = Path(state_dir).resolve()
    if not state_dir.exists():
        return []
    with _lock(state_dir):
        state = _load(state_dir)
        stopped = _stop_locked(state_dir, state, list(components))
        _save(state_dir, state)
        if not state:
            (state_dir / "infra.env").unlink(missing_ok=True)
        return stopped


def _kafka_record(state_dir: Path) -> dict:
    record = _load(state_dir).get(KAFKA)
    if record is None:
        raise RuntimeError(f"no Kafka recorded in {state_dir}/infra.json: run `start`/`up` first")
    if record["source"] == ENV:
        raise KafkaNotManagedError(
            f"Kafka is external (KAFKA_BOOTSTRAP_SERVERS={record['endpoint']}); it cannot be stopped or "
            "started from here. Outage tests need managed (native or Docker) Kafka: unset the variable "
            "or deselect them (-m 'not infra_outage')."
        )
    return record


def stop_kafka(state_dir: Path = DEFAULT_STATE_DIR) -> None:
    """Stop only the managed Kafka broker, keeping its data (simulates an outage)."""
    state_dir = Path(state_dir).resolve()
    with _lock(state_dir):
        _stop_component(state_dir, KAFKA, _kafka_record(state_dir), remove=False)


def start_kafka(state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """Start the managed Kafka broker again (same data, same port); returns the bootstrap address."""
    state_dir = Path(state_dir).resolve()
    with _lock(state_dir):
        record = _kafka_record(state_dir)
        if record["source"] == DOCKER:
            return docker_infra.start_kafka(record["port"])[0]
        if record.get("brokers", 1) == 3:
            cluster = NativeKafkaCluster(state_dir / "kafka-cluster", cluster_ports(record["port"]))
            cluster.start()
            return cluster.bootstrap
        kafka = NativeKafka(state_dir / "kafka", port=record["port"],
                            auto_create_topics=record.get("auto_create", False))
        kafka.start()
        return kafka.bootstrap


def status(state_dir: Path = DEFAULT_STATE_DIR) -> dict[str, dict]:
    """Per service: recorded source/endpoint plus ``answering`` (a live probe)."""
    state = _load(Path(state_dir).resolve())
    probes = {KAFKA: probe_kafka, POSTGRES: probe_postgres}
    result = {}
    for name in (KAFKA, POSTGRES):
        record = dict(state.get(name) or {"source": "-", "endpoint": "-"})
        try:
            if record["endpoint"] == "-":
                raise RuntimeError("not started")
            probes[name](record["endpoint"])
            record["answering"] = True
        except Exception:
            record["answering"] = False
        result[name] = record
    return result


# --- CLI -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m deploy.infra`` entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy.infra", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "kafka-stop", "kafka-start"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--kafka-port", type=int, default=DEFAULT_KAFKA_PORT)
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    args = parser.parse_args(argv)
    # Probing a stopped broker makes aiokafka log connection errors; the CLI reports state itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    try:
        if args.command == "up":
            ep = start(args.state_dir, args.kafka_port, args.pg_port)
            print(f"kafka     {ep.kafka_source:<7} {ep.kafka_bootstrap}")
            print(f"postgres  {ep.postgres_source:<7} {ep.database_url}")
            print(f"ready in {time.monotonic() - t0:.1f}s; endpoints in {args.state_dir / 'infra.env'}")
        elif args.command == "down":
            print("stopped:", ", ".join(stop(args.state_dir)) or "nothing")
        elif args.command == "status":
            info = status(args.state_dir)
            for name, rec in info.items():
                state = "answering" if rec["answering"] else "DOWN"
                print(f"{name:<9} {rec['source']:<7} {rec['endpoint']}  {state}")
            return 0 if all(rec["answering"] for rec in info.values()) else 3
        elif args.command == "kafka-stop":
            stop_kafka(args.state_dir)
            print(f"kafka stopped ({time.monotonic() - t0:.1f}s)")
        else:
            print(f"kafka {start_kafka(args.state_dir)} up ({time.monotonic() - t0:.1f}s)")
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
