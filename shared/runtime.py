"""Service wiring: one function builds a service's FastAPI app and its lifespan.

The lifespan creates the database (if missing), runs the service's Alembic migrations, opens the
pool, makes sure the Kafka topics exist, and runs the outbox relay, the consumers and any
background loops as tasks; on shutdown it stops them and closes the pool. Nothing is created at
import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from fastapi import APIRouter, FastAPI, Request

from shared import catalogue  # noqa: F401  (registers every event type)
from shared.auth import Authenticator, JwksKeys, Principal
from shared.cloudevents import topic_for
from shared.db import create_pool, ensure_database, migrate_async
from shared.envelope import Metadata
from shared.events import SERVICES
from shared.eventstore.postgres import PostgresEventStore
from shared.http import install_conventions, install_docs, problem
from shared.inbox import BatchHandler, EventConsumer, Handler, dlq_topic
from shared.observability import configure_logging
from shared.operations import Probe, run_sampler
from shared.operations_api import router as operations_router
from shared.outbox import OutboxRelay
from shared.settings import InsecureSettings, ServiceSettings, load_settings
from shared.tenancy import ensure_app_role, system_scope, with_credentials
from shared.uow import UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of the service: its name, topics and per-event handler."""

    name: str
    topics: Sequence[str]
    handler: Handler
    batch_handler: BatchHandler | None = None
    #: event names the handler acts on; others are skipped before any decoding or database work
    event_types: Collection[str] | None = None


@dataclass
class Runtime:
    """Everything a service's handlers need at run time; lives in ``app.state.runtime``."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    store: PostgresEventStore
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    #: service-specific figures (sweep lateness, queue age) for shared.operations
    probes: Sequence[Probe] = ()

    @property
    def service(self) -> str:
        return self.settings.service

    def uow(self, metadata: Metadata) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work (one transaction) for a command."""
        return unit_of_work(self.pool, self.store, self.service, metadata)


async def runtime(request: Request) -> Runtime:
    """FastAPI dependency: the service runtime (async: no worker-thread hop per request)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def command_metadata(request: Request, caller: Principal) -> Metadata:
    """Metadata for events caused by an HTTP command."""
    return Metadata(correlation_id=request.state.correlation_id, actor=caller.sub)


async def ensure_topics(settings: ServiceSettings) -> None:
    """Create the four service topics and this service's DLQ if missing (retries until Kafka answers)."""
    names = [topic_for(s) for s in SERVICES] + [dlq_topic(settings.service)]
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [
                # Kept forever: the topics are the log other services rebuild their read models from.
                NewTopic(n, settings.kafka_partitions, settings.kafka_replication_factor,
                         topic_configs={"retention.ms": str(settings.kafka_retention_ms)})
                for n in names if n not in existing
            ]
            if missing:
                with contextlib.suppress(Exception):  # another service created them first
                    await admin.create_topics(missing)
            await _converge_retention(admin, [n for n in names if n in existing], str(settings.kafka_retention_ms))
            return
        except Exception as exc:
            log.warning("kafka not reachable for topic setup", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()


async def _converge_retention(admin: AIOKafkaAdminClient, topics: list[str], retention_ms: str) -> None:
    """Topics that exist already (created by hand, or auto-created by a producer) get the same
    retention as those this service creates, so the log stays complete."""
    if not topics:
        return
    described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    stale = [
        resource[3]
        for response in described
        for resource in response.resources
        if dict((c[0], c[1]) for c in resource[4]).get("retention.ms") != retention_ms
    ]
    if stale:
        log.info("setting topic retention", topics=stale, retention_ms=retention_ms)
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": retention_ms}) for t in stale]
        )


async def kafka_reachable(bootstrap: str) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await asyncio.wait_for(client.bootstrap(), 3)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.close()


#: How long shutdown waits for background tasks, then for the pool's connections to come back.
SHUTDOWN_GRACE_S = 10.0


async def _shut_down(rt: Runtime, pool: asyncpg.Pool) -> None:
    """Stop the background tasks and close the pool, within a deadline: a task that does not
    stop, or a connection never released, is reported and then abandoned (its connection
    terminated), so a service always exits on SIGTERM."""
    for task in rt.tasks:
        task.cancel()
    if rt.tasks:
        _, pending = await asyncio.wait(rt.tasks, timeout=SHUTDOWN_GRACE_S)
        if pending:
            log.error("background tasks did not stop in time", tasks=sorted(t.get_name() for t in pending))
    try:
        await asyncio.wait_for(pool.close(), SHUTDOWN_GRACE_S)
    except TimeoutError:
        log.error("database connections not released in time; terminating them")
        pool.terminate()


def create_service_app(
    service: str,
    *,
    routers: Sequence[APIRouter],
    migrations: Path,
    consumers: Callable[[Runtime], Sequence[ConsumerSpec]] = lambda _: (),
    background: Callable[[Runtime], Sequence[Coroutine[Any, Any, None]]] = lambda _: (),
    settings: ServiceSettings | None = None,
    title: str | None = None,
    probes: Sequence[Probe] = (),
) -> FastAPI:
    """Build the FastAPI app of ``service`` with its lifespan, routers and kernel conventions."""
    cfg = settings or load_settings(service)
    cfg.check_security()  # outside development: refuse to start without an identity provider

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(cfg.log_level, cfg.log_json)
        structlog.contextvars.bind_contextvars(service=service)
        if not cfg.service_database_url:
            await ensure_database(cfg.database_url, f"waypoint_{service}")
        await migrate_async(cfg.dsn, migrations)  # as the owner
        # The service itself connects as a role that owns nothing and cannot bypass row-level security.
        await ensure_app_role(cfg.dsn, cfg.db_app_user, cfg.db_app_password, create=cfg.development)
        pool = await create_pool(with_credentials(cfg.dsn, cfg.db_app_user, cfg.db_app_password),
                                 min_size=cfg.db_pool_min, max_size=cfg.db_pool_max)
        relay = OutboxRelay(pool, cfg.dsn, cfg.kafka_bootstrap_servers, service,
                            batch_size=cfg.relay_batch_size, poll_interval=cfg.relay_poll_interval_s)
        rt = Runtime(settings=cfg, pool=pool, store=PostgresEventStore(pool), relay=relay, probes=probes)
        app.state.runtime = rt
        await ensure_topics(cfg)
        # The relay, the consumers and the background loops work for every agency: they, and only
        # they, run in the system scope (a task keeps the context it was created in).
        with system_scope():
            rt.tasks.append(asyncio.create_task(relay.run(), name=f"{service}-outbox-relay"))
            for spec in consumers(rt):
                consumer = EventConsumer(
                    name=spec.name, service=service, topics=spec.topics, handler=spec.handler, pool=pool,
                    store=rt.store, bootstrap=cfg.kafka_bootstrap_servers, batch_size=cfg.consumer_batch_size,
                    batch_handler=spec.batch_handler, event_types=spec.event_types,
                )
                rt.consumers.append(consumer)
                rt.tasks.append(asyncio.create_task(consumer.run(), name=f"{service}-{spec.name}"))
            for coro in background(rt):
                rt.tasks.append(asyncio.create_task(coro, name=f"{service}-{coro.__qualname__}"))
            if cfg.operations_sample_interval_s > 0:
                rt.tasks.append(asyncio.create_task(run_sampler(rt, cfg.operations_sample_interval_s),
                                                    name=f"{service}-operations-sampler"))
        log.info("service started", port=cfg.port)
        try:
            yield
        finally:
            await _shut_down(rt, pool)

    # docs_url/redoc_url None: FastAPI's pages load from a CDN; install_docs serves /docs locally.
    app = FastAPI(title=title or f"Waypoint {service}", version="1.0.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.authenticator = authenticator_for(cfg)
    install_conventions(app, service, max_body_bytes=cfg.max_body_bytes)
    install_docs(app)

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> Any:
        rt: Runtime = request.app.state.runtime
        checks = {"database": False, "kafka": False}
        with contextlib.suppress(Exception):
            checks["database"] = await rt.pool.fetchval("SELECT 1") == 1
        checks["kafka"] = await kafka_reachable(cfg.kafka_bootstrap_servers)
        if all(checks.values()):
            return {"status": "ready", "checks": checks}
        return problem(503, "Not ready", code="not-ready", checks=checks)

    for router in routers:
        app.include_router(router)
    app.include_router(operations_router)
    return app


def authenticator_for(cfg: ServiceSettings) -> Authenticator:
    """The token verifier the settings describe (HS256 only in development)."""
    jwks = JwksKeys(cfg.jwt_jwks_url, min_refresh_s=cfg.jwt_jwks_min_refresh_s) if cfg.jwt_jwks_url else None
    return Authenticator(secret=cfg.hs256_secret, audience=cfg.jwt_audience, issuer=cfg.jwt_issuer,
                         max_lifetime_s=cfg.jwt_max_lifetime_s, jwks=jwks)


def serve(service: str, factory: str) -> None:
    """Run a service's app factory under uvicorn on its configured port."""
    import sys

    import uvicorn

    cfg = load_settings(service)
    try:
        cfg.check_security()
    except InsecureSettings as exc:
        sys.exit(f"waypoint-{service} not started: {exc}")  # one line on stderr, exit status 1
    # uvloop and httptools: the C event loop and HTTP parser roughly halve uvicorn's per-request cost.
    # Several workers are safe: one relay leads (advisory lock), consumers share their group,
    # schedulers claim rows with SKIP LOCKED, and migrations are serialized by a lock.
    uvicorn.run(factory, factory=True, host=cfg.http_host, port=cfg.port, log_level="warning",
                access_log=False, lifespan="on", loop="uvloop", http="httptools", workers=cfg.http_workers)
