"""Kafka and PostgreSQL in Docker via testcontainers, used only when a Docker engine is reachable.

Containers get deterministic names (``waypoint-kafka-<port>``) and fixed host ports, so that
``up`` is idempotent across processes, ``down`` can find them again, and Kafka's advertised
listener (which must name the host port) stays valid across container stop/start.

Ryuk (testcontainers' reaper) is disabled: it would delete the containers as soon as the
process that created them exits, which defeats ``python -m deploy.infra up``.
"""

from __future__ import annotations

import os
import time

from deploy import kafka_native, postgres_native

KAFKA_IMAGE = os.environ.get("WAYPOINT_KAFKA_IMAGE", "apache/kafka:4.1.1")
POSTGRES_IMAGE = os.environ.get("WAYPOINT_POSTGRES_IMAGE", "postgres:18")
_CONTROLLER_PORT = 9093  # inside the container only


def docker_available() -> bool:
    """True if a Docker engine answers a ping (the client binary alone is not enough)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def kafka_name(port: int) -> str:
    """Container name of the Kafka broker published on host `port`."""
    return f"waypoint-kafka-{port}"


def postgres_name(port: int) -> str:
    """Container name of the PostgreSQL server published on host `port`."""
    return f"waypoint-postgres-{port}"


def _client():
    import docker

    return docker.from_env()


def _existing(name: str):
    """The container called `name`, started if it exists but is stopped; None if absent."""
    import docker.errors

    try:
        container = _client().containers.get(name)
    except docker.errors.NotFound:
        return None
    if container.status != "running":
        container.start()
    return container


def _host() -> str:
    from testcontainers.core.docker_client import DockerClient

    # Honours TC_HOST / DOCKER_HOST. For a local engine this is "localhost"; use the IPv4
    # literal so clients never try ::1 (ports are published on IPv4).
    host = DockerClient().host()
    return "127.0.0.1" if host == "localhost" else host


def _no_reaper() -> None:
    from testcontainers.core.config import testcontainers_config

    testcontainers_config.ryuk_disabled = True


def start_kafka(port: int, num_partitions: int = 3, timeout: float = 120) -> tuple[str, bool]:
    """Run (or reuse) the Kafka container; returns (bootstrap, started_by_this_call)."""
    host = _host()
    bootstrap = f"{host}:{port}"
    started = _existing(kafka_name(port)) is None
    if started:
        _no_reaper()
        # testcontainers' KafkaContainer drives Confluent's cp-kafka startup scripts
        # (/etc/confluent/docker/...), which the apache/kafka image lacks, so the generic
        # container is configured here with the apache image's KAFKA_* variables instead.
        from testcontainers.core.container import DockerContainer

        env = {
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            # Same port inside and outside: the advertised address works from the host.
            "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:{_CONTROLLER_PORT}",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{port}",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@localhost:{_CONTROLLER_PORT}",
            "KAFKA_NUM_PARTITIONS": str(num_partitions),
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
            "KAFKA_MIN_INSYNC_REPLICAS": "1",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_HEAP_OPTS": "-Xms256m -Xmx512m",
        }
        container = DockerContainer(KAFKA_IMAGE).with_name(kafka_name(port)).with_bind_ports(port, port)
        container.with_envs(**env).start()
    _wait(lambda: kafka_native.probe(bootstrap), timeout, f"Kafka container {kafka_name(port)}")
    return bootstrap, started


def start_postgres(port: int, timeout: float = 120) -> tuple[str, bool]:
    """Run (or reuse) the PostgreSQL container; returns (server_url, started_by_this_call)."""
    host = _host()
    url = f"postgresql://{postgres_native.USER}:{postgres_native.PASSWORD}@{host}:{port}/postgres"
    started = _existing(postgres_name(port)) is None
    if started:
        _no_reaper()
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer(
            POSTGRES_IMAGE, username=postgres_native.USER, password=postgres_native.PASSWORD,
            dbname="postgres", driver=None,
        )  # fmt: skip
        container.with_name(postgres_name(port)).with_bind_ports(5432, port)
        container.with_command("postgres -c max_connections=300 -c shared_buffers=256MB").start()
    _wait(lambda: postgres_native.probe(url), timeout, f"PostgreSQL container {postgres_name(port)}")
    return url, started


def stop_container(name: str, remove: bool = True) -> bool:
    """Stop (and by default remove, with its data) container `name`. True if it existed."""
    import docker.errors

    try:
        container = _client().containers.get(name)
    except docker.errors.NotFound:
        return False
    if remove:
        container.remove(force=True, v=True)
    else:
        container.stop(timeout=30)
    return True


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{what} did not answer within {timeout:.0f}s: {exc!r}") from exc
        time.sleep(0.5)
