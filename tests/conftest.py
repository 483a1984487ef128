"""Session infrastructure for every test: real Kafka and PostgreSQL via :mod:`deploy.infra`.

Resolution follows ``deploy.infra.start``: ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` from the
environment, else Docker (testcontainers), else native processes under ``WAYPOINT_TEST_STATE_DIR``
(``.waypoint/test``) on ports ``WAYPOINT_TEST_KAFKA_PORT`` (19092) / ``WAYPOINT_TEST_PG_PORT`` (15432).
Infrastructure that cannot start fails the tests: we never skip silently, locally or in CI.

Fixtures: ``infra`` (Endpoints), ``kafka_bootstrap``, ``database_url``, ``infra_state_dir``,
``fresh_database`` (factory), ``kafka_controller`` (stop/start Kafka for outage tests; mark those
``infra_outage``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `deploy` and `shared` importable without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from deploy import infra as infra_mod  # noqa: E402
from shared import tenancy  # noqa: E402

# Tests inspect the services' databases across agencies (counting rows, reading audit tables): the
# test tasks run in the system scope of row-level security, explicitly (tasks copy this context).
# HTTP requests still start denied and take their caller's agency (shared/http.py).
tenancy._scope.set(tenancy.SYSTEM)
# Webhooks are refused on loopback unless allowlisted: the tests' local receivers stand for an
# on-premises partner (their own tests of the guard use other loopback addresses).
os.environ.setdefault("NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
from deploy._util import run_async  # noqa: E402
from deploy.postgres_native import url_for_database  # noqa: E402

# Browser fixtures (`browser`, `page`, `phone_page`) and `assert_accessible`, over pytest-playwright.
pytest_plugins = ["shared.testing.browser"]

# Several engineers may run suites side by side: each sets its own ports and state directory.
TEST_STATE_DIR = (REPO_ROOT / os.environ.get("WAYPOINT_TEST_STATE_DIR", ".waypoint/test")).resolve()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "infra_outage: stops and restarts managed infrastructure (not possible with env-given services)"
    )


@pytest.fixture(scope="session")
def infra() -> Iterator[infra_mod.Endpoints]:
    """Kafka + PostgreSQL for the whole session; stops at the end only what it started."""
    kafka_port = int(os.environ.get("WAYPOINT_TEST_KAFKA_PORT", "19092"))
    pg_port = int(os.environ.get("WAYPOINT_TEST_PG_PORT", "15432"))
    try:
        # The suite's single broker auto-creates the tests' scratch topics; the services never rely
        # on it (they create theirs), and `make up` and the three-broker cluster refuse it.
        endpoints = infra_mod.start(TEST_STATE_DIR, kafka_port=kafka_port, pg_port=pg_port,
                                    kafka_auto_create_topics=True, kafka_brokers=1)
    except Exception as exc:
        error = exc
    else:
        error = None
    if error is not None:  # failed outside the `except` block: no "during handling" chain in the report
        where = "CI=true: infrastructure is mandatory" if os.environ.get("CI") == "true" else "never skipped"
        pytest.fail(
            f"test infrastructure could not start ({where}):\n{error}\n"
            f"Set KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL, start Docker, or fix the native setup "
            f"(logs under {TEST_STATE_DIR}).",
            pytrace=False,
        )
    yield endpoints
    infra_mod.stop(TEST_STATE_DIR, components=endpoints.started)


@pytest.fixture(scope="session")
def infra_state_dir() -> Path:
    """State directory of the session's managed infrastructure (pid files, logs, data)."""
    return TEST_STATE_DIR


@pytest.fixture(scope="session")
def kafka_bootstrap(infra: infra_mod.Endpoints) -> str:
    """``host:port`` of the session's Kafka broker."""
    return infra.kafka_bootstrap


@pytest.fixture(scope="session")
def database_url(infra: infra_mod.Endpoints) -> str:
    """asyncpg-style URL of the session's PostgreSQL server (database ``postgres``)."""
    return infra.database_url


@pytest.fixture(scope="session")
def fresh_database(database_url: str) -> Iterator[Callable[[str], str]]:
    """Factory: ``fresh_database("intake")`` creates an empty, uniquely named database and returns
    its URL. Synchronous (usable from sync and async tests); all are dropped at session end."""
    created: list[str] = []

    def create(name_prefix: str = "t") -> str:
        name = f"{name_prefix}_{uuid.uuid4().hex[:10]}"
        infra_mod.ensure_databases(database_url, [name])
        created.append(name)
        return url_for_database(database_url, name)

    yield create

    async def drop_all() -> None:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            for name in created:
                # FORCE: pools a test forgot to close must not keep the database alive.
                await conn.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await conn.close()

    if created:
        run_async(drop_all)


class KafkaController:
    """Stops and restarts the session's Kafka broker (same data, same port) for outage tests."""

    def __init__(self, endpoints: infra_mod.Endpoints) -> None:
        self.bootstrap = endpoints.kafka_bootstrap
        self.stopped = False

    def stop_kafka(self) -> None:
        """Stop the broker (SIGTERM, SIGKILL fallback); its data is kept."""
        infra_mod.stop_kafka(TEST_STATE_DIR)
        self.stopped = True

    def start_kafka(self) -> None:
        """Start the broker again and wait until it answers."""
        infra_mod.start_kafka(TEST_STATE_DIR)
        self.stopped = False

    async def stop_kafka_async(self) -> None:
        """:meth:`stop_kafka` without blocking the event loop (producers/relays keep running)."""
        await asyncio.to_thread(self.stop_kafka)

    async def start_kafka_async(self) -> None:
        """:meth:`start_kafka` without blocking the event loop."""
        await asyncio.to_thread(self.start_kafka)


@pytest.fixture
def kafka_controller(infra: infra_mod.Endpoints) -> Iterator[KafkaController]:
    """Outage control over managed Kafka; errors clearly when Kafka is env-given. Restarts the
    broker after the test if the test left it stopped."""
    if infra.kafka_source == infra_mod.ENV:
        raise infra_mod.KafkaNotManagedError(
            f"kafka_controller needs managed Kafka, but KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap} is "
            "given from outside. Unset it, or deselect outage tests with -m 'not infra_outage'."
        )
    controller = KafkaController(infra)
    yield controller
    if controller.stopped:
        controller.start_kafka()


@pytest.fixture(scope="session")
def keycloak() -> Iterator[object]:
    """A native Keycloak with the ``waypoint`` realm (deploy/keycloak_native.py) on
    ``WAYPOINT_TEST_KEYCLOAK_PORT`` (default: ``WAYPOINT_TEST_HTTP_BASE`` + 80); stopped at the end
    if this session started it. Never skipped: a Keycloak that cannot start fails the tests."""
    from deploy.keycloak_native import NativeKeycloak

    base = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
    port = int(os.environ.get("WAYPOINT_TEST_KEYCLOAK_PORT", str(base + 80)))
    provider = NativeKeycloak(TEST_STATE_DIR / "keycloak", port=port)
    try:
        started = provider.start()
    except Exception as exc:
        error = exc
    else:
        error = None
    if error is not None:
        pytest.fail(f"Keycloak could not start (never skipped):\n{error}", pytrace=False)
    yield provider
    if started:
        provider.stop()
