"""Service wiring: one function builds a service's FastAPI app and its lifespan.

The lifespan creates the database (if missing), runs the service's Alembic migrations, opens the
pool, makes sure the Kafka topics exist, and runs the outbox relay, the consumers and any
background loops as tasks; on shutdown it stops them and closes the pool. Nothing is created at
import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from fastapi import APIRouter, FastAPI, Request

from shared import catalogue  # noqa: F401  (registers every event type)
from shared.auth import Authenticator, JwksKeys, Principal
from shared.clock import Clock, system_clock
from shared.cloudevents import ReceivedEvent, topic_for
from shared.db import create_pool, ensure_database, migrate_async
from shared.envelope import Metadata
from shared.events import SERVICES
from shared.eventstore.base import ConcurrencyError
from shared.eventstore.postgres import PostgresEventStore
from shared.http import install_conventions, install_docs, problem
from shared.inbox import BatchHandler, BatchPrelude, EventConsumer, Handler, dlq_topic
from shared.keyring import EventSealer, KeyRing
from shared.observability import configure_logging
from shared.operations import Probe, run_sampler
from shared.operations_api import router as operations_router
from shared.outbox import OutboxRelay
from shared.polling import Backoff
from shared.retention import RetentionPurge
from shared.settings import InsecureSettings, ServiceSettings, load_settings
from shared.tenancy import ensure_app_role, system_scope, with_credentials
from shared.uow import UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)

C = TypeVar("C")
R = TypeVar("R")
P = TypeVar("P")


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of the service: its name, topics and per-event handler."""

    name: str
    topics: Sequence[str]
    handler: Handler
    batch_handler: BatchHandler | None = None
    #: event names the handler acts on; others are skipped before any decoding or database work
    event_types: Collection[str] | None = None
    #: runs in a batch's transaction before the handlers (see ``shared.inbox.BatchPrelude``)
    before_batch: BatchPrelude | None = None


@dataclass
class Runtime:
    """Everything a service's handlers need at run time; lives in ``app.state.runtime``."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    store: PostgresEventStore
    relay: OutboxRelay
    #: the service's per-participant data keys (shared.keyring); handlers see it as ``uow.keys``
    keys: KeyRing
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    #: set once the Kafka topics exist: the relay and consumers start then
    kafka_ready: asyncio.Event = field(default_factory=asyncio.Event)
    #: a service's own long-lived parts (e.g. monitoring's check-in writer), keyed by their type
    parts: dict[type, object] = field(default_factory=dict)
    #: the service's time: every unit of work reads ``now`` from it, and so do its background loops
    clock: Clock = system_clock
    #: builds the service's own tables adapter over a unit of work's connection (``uow.tables``)
    tables: Callable[..., Any] | None = None
    #: service-specific figures (sweep lateness, queue age) for shared.operations
    probes: Sequence[Probe] = ()

    def _tables(self) -> Callable[[Any], Any] | None:
        """The tables factory over a connection; one that takes ``keys`` gets the key ring too."""
        factory = self.tables
        if factory is None or "keys" not in inspect.signature(factory).parameters:
            return factory
        return lambda conn: factory(conn, keys=self.keys)

    @property
    def service(self) -> str:
        return self.settings.service

    def provide(self, part: object) -> None:
        """Make one of the service's own parts available to its routes (``part(type)``)."""
        self.parts[type(part)] = part

    def part(self, kind: type[P]) -> P:
        """The service's part of this type (typed; LookupError when the service runs none)."""
        found = self.parts.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"{self.service} runs no {kind.__name__}")
        return found

    def uow(
        self, metadata: Metadata, *, agency_id: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work (one transaction) for a command."""
        return unit_of_work(self.pool, self.store, self.service, metadata, agency_id=agency_id, clock=self.clock,
                            tables=self._tables(), keys=self.keys)

    def with_tables(self, handler: Handler) -> Handler:
        """A consumer's handler whose unit of work has the service's clock and tables too, and
        acts for the received event's agency (``uow.agency_id``)."""

        async def handle(received: ReceivedEvent, uow: UnitOfWork) -> None:
            uow.clock, uow.now, uow.agency_id = self.clock, self.clock(), received.agency_id
            uow.keys = self.keys
            factory = self._tables()
            if factory is not None:
                uow.tables = factory(uow.conn)
            await handler(received, uow)

        return handle

    async def run(
        self,
        handle: Callable[[C, UnitOfWork], Awaitable[R]],
        command: C,
        request: Request,
        caller: Principal,
        *,
        attempts: int = 1,
    ) -> R:
        """Run a person's command: ``handle(command, uow)`` in one unit of work carrying the
        caller's agency, their ``sub`` as actor and the request's correlation id.

        With ``attempts`` > 1, a lost race (ConcurrencyError) decides again on the fresh streams,
        for aggregates whose streams take events from several sources; otherwise it is a 409.
        """
        for attempt in range(1, attempts + 1):
            try:
                async with self.uow(command_metadata(request, caller), agency_id=caller.agency_id) as uow:
                    return await handle(command, uow)
            except ConcurrencyError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")


async def runtime(request: Request) -> Runtime:
    """FastAPI dependency: the service runtime (async: no worker-thread hop per request)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def command_metadata(request: Request, caller: Principal) -> Metadata:
    """Metadata for events caused by an HTTP command."""
    return Metadata(correlation_id=request.state.correlation_id, actor=caller.sub)


class TopicSetupError(Exception):
    """Kafka answered but refused to create a topic (not "it exists already")."""


#: CreateTopics error code meaning "exists already" (another service or replica created it first).
_TOPIC_ALREADY_EXISTS = 36


def topic_configs(settings: ServiceSettings) -> dict[str, str]:
    """Configs of the topics a service creates: kept forever (the log read models are rebuilt
    from), and with replication, at least ``kafka_min_insync_replicas`` in-sync copies per write."""
    configs = {"retention.ms": str(settings.kafka_retention_ms)}
    if settings.kafka_min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    return configs


def _raise_topic_errors(response: Any) -> None:
    failed = [
        f"{error[0]}: error {error[1]} {error[2] if len(error) > 2 else ''}".strip()
        for error in getattr(response, "topic_errors", ())
        if error[1] not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failed:
        raise TopicSetupError("; ".join(failed))


class TopicsNotProvisioned(Exception):
    """SASL mode: a topic this service writes or reads does not exist (yet); services create none."""


async def ensure_topics(settings: ServiceSettings, consumed: Collection[str] = ()) -> None:
    """Create the four service topics and this service's DLQ if missing, once; raises if Kafka is
    unreachable (KafkaError, OSError) or refuses a topic (:class:`TopicSetupError`).

    As its own SASL principal a service creates nothing (its ACLs allow no Create, no AlterConfigs):
    the topics are provisioned by deploy/kafka_security.py; it checks that its own topic, its DLQ
    and the ``consumed`` topics exist (:class:`TopicsNotProvisioned` otherwise)."""
    names = [topic_for(s) for s in SERVICES] + [dlq_topic(settings.service)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=10000,
                                **settings.kafka_client_options())
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        if settings.kafka_authenticated:
            needed = dict.fromkeys([topic_for(settings.service), dlq_topic(settings.service), *consumed])
            if absent := [n for n in needed if n not in existing]:
                raise TopicsNotProvisioned(", ".join(absent))
            return
        missing = [
            NewTopic(n, settings.kafka_partitions, settings.kafka_replication_factor,
                     topic_configs=topic_configs(settings))
            for n in names if n not in existing
        ]
        if missing:
            _raise_topic_errors(await admin.create_topics(missing))
            log.info("topics created", topics=[t.name for t in missing])
        await _converge_retention(admin, [n for n in names if n in existing], str(settings.kafka_retention_ms))
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def prepare_kafka(settings: ServiceSettings, ready: asyncio.Event, consumed: Collection[str] = ()) -> None:
    """Background task: :func:`ensure_topics` until it succeeds, then set ``ready``. While Kafka is
    down the service serves commands (the outbox keeps their events); each failure is logged
    (an error when Kafka refuses a topic, a warning when it does not answer) and retried."""
    backoff = Backoff(first=0.5, cap=10.0)
    while True:
        try:
            await ensure_topics(settings, consumed)
        except asyncio.CancelledError:
            raise
        except TopicsNotProvisioned as exc:
            # absent, or invisible to this principal (no ACL on it): both need deploy.kafka_security
            log.warning("kafka topics not provisioned yet (python -m deploy.kafka_security creates them)",
                        topics=str(exc), retry_in=backoff.next)
        except TopicSetupError as exc:
            log.error("kafka refused to create topics", error=str(exc), retry_in=backoff.next)
        except Exception as exc:
            log.warning("kafka not reachable for topic setup", error=repr(exc), retry_in=backoff.next)
        else:
            ready.set()
            return
        await backoff.sleep()


async def _after(ready: asyncio.Event, coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` once ``ready`` is set (Kafka-bound work waits for the topics)."""
    try:
        await ready.wait()
    except asyncio.CancelledError:
        coro.close()
        raise
    await coro


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


async def kafka_reachable(bootstrap: str, client_options: dict[str, Any] | None = None) -> bool:
    """Kafka answers (and, with SASL, accepts this process's credentials)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000, **(client_options or {}))
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
    clock: Clock = system_clock,
    tables: Callable[..., Any] | None = None,
    probes: Sequence[Probe] = (),
) -> FastAPI:
    """Build the FastAPI app of ``service`` with its lifespan, routers and kernel conventions.

    ``clock`` is the service's time (tests pass a :class:`shared.clock.ManualClock`); ``tables``
    builds the service's adapter over its own tables from a connection (``uow.tables``).
    """
    cfg = settings or load_settings(service)
    cfg.check_security()  # outside development: refuse to start without an identity provider

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = await _open_runtime(cfg, migrations, clock=clock, tables=tables, probes=probes)
        app.state.runtime = rt
        # Kafka-bound work starts once the topics exist; commands are served at once (a service
        # must start and accept commands while Kafka is down; the outbox holds their events).
        _start_tasks(rt, consumers, background)
        log.info("service started", port=cfg.port)
        try:
            yield
        finally:
            await _shut_down(rt, rt.pool)

    # docs_url/redoc_url None: FastAPI's pages load from a CDN; install_docs serves /docs locally.
    app = FastAPI(title=title or f"Waypoint {service}", version="1.0.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.authenticator = authenticator_for(cfg)
    app.state.consumer_specs = consumers  # what it reads: the Kafka ACLs are checked against it
    install_conventions(app, service, max_body_bytes=cfg.max_body_bytes)
    install_docs(app)
    app.add_api_route("/health/ready", _ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/health/ready/kafka", _kafka_ready, methods=["GET"], include_in_schema=False)
    for router in routers:
        app.include_router(router)
    app.include_router(operations_router)
    return app


async def _open_runtime(
    cfg: ServiceSettings, migrations: Path, *, clock: Clock, tables: Callable[..., Any] | None,
    probes: Sequence[Probe],
) -> Runtime:
    """The service's database (created and migrated if needed), its pool, store and relay."""
    configure_logging(cfg.log_level, cfg.log_json)
    structlog.contextvars.bind_contextvars(service=cfg.service)
    if not cfg.service_database_url:
        await ensure_database(cfg.database_url, f"waypoint_{cfg.service}")
    await migrate_async(cfg.dsn, migrations)  # as the owner
    # The service itself connects as a role that owns nothing and cannot bypass row-level security.
    await ensure_app_role(cfg.dsn, cfg.db_app_user, cfg.db_app_password, create=cfg.development)
    pool = await create_pool(with_credentials(cfg.dsn, cfg.db_app_user, cfg.db_app_password),
                             min_size=cfg.db_pool_min, max_size=cfg.db_pool_max)
    relay = OutboxRelay(pool, cfg.dsn, cfg.kafka_bootstrap_servers, cfg.service,
                        batch_size=cfg.relay_batch_size, poll_interval=cfg.relay_poll_interval_s,
                        client_options=cfg.kafka_client_options())
    keys = KeyRing(cfg.master_keys())
    return Runtime(settings=cfg, pool=pool, store=PostgresEventStore(pool, sealer=EventSealer(keys)), relay=relay,
                   clock=clock, tables=tables, probes=probes, keys=keys)


def _start_tasks(
    rt: Runtime,
    consumers: Callable[[Runtime], Sequence[ConsumerSpec]],
    background: Callable[[Runtime], Sequence[Coroutine[Any, Any, None]]],
) -> None:
    """The relay, the consumers, the service's background loops and the operations sampler.

    They work for every agency: they, and only they, run in the system scope (a task keeps the
    context it was created in)."""
    cfg, service = rt.settings, rt.service
    specs = list(consumers(rt))
    consumed = {topic for spec in specs for topic in spec.topics}
    with system_scope():
        rt.tasks.append(asyncio.create_task(prepare_kafka(cfg, rt.kafka_ready, consumed),
                                            name=f"{service}-topic-setup"))
        rt.tasks.append(asyncio.create_task(_after(rt.kafka_ready, rt.relay.run()), name=f"{service}-outbox-relay"))
        for spec in specs:
            consumer = EventConsumer(
                name=spec.name, service=service, topics=spec.topics, handler=rt.with_tables(spec.handler),
                pool=rt.pool, store=rt.store, bootstrap=cfg.kafka_bootstrap_servers,
                batch_size=cfg.consumer_batch_size, batch_handler=spec.batch_handler, event_types=spec.event_types,
                client_options=cfg.kafka_client_options(), before_batch=spec.before_batch,
            )
            rt.consumers.append(consumer)
            rt.tasks.append(asyncio.create_task(_after(rt.kafka_ready, consumer.run()),
                                                name=f"{service}-{spec.name}"))
        for coro in background(rt):
            # A coroutine object has a __qualname__ (its function's); the Coroutine type does not say so.
            name = getattr(coro, "__qualname__", "background")
            rt.tasks.append(asyncio.create_task(coro, name=f"{service}-{name}"))
        if cfg.operations_sample_interval_s > 0:
            rt.tasks.append(asyncio.create_task(run_sampler(rt, cfg.operations_sample_interval_s),
                                                name=f"{service}-operations-sampler"))
        if cfg.retention_purge_interval_s > 0:
            purge = RetentionPurge(rt.pool, service, keep_years=cfg.retention_years, batch=cfg.retention_purge_batch,
                                   interval=cfg.retention_purge_interval_s)
            rt.tasks.append(asyncio.create_task(purge.run(), name=f"{service}-retention-purge"))


async def _ready(request: Request) -> Any:
    """/health/ready means "can accept commands": the database answers. Kafka is reported beside it
    (``kafka``, ``topics``, ``kafka_bound``) but does not make the service unready: while Kafka is
    down, commands are accepted and their events wait in the outbox."""
    rt: Runtime = request.app.state.runtime
    checks = {"database": False, "kafka": False, "topics": rt.kafka_ready.is_set()}
    with contextlib.suppress(Exception):
        checks["database"] = await rt.pool.fetchval("SELECT 1") == 1
    checks["kafka"] = await kafka_reachable(rt.settings.kafka_bootstrap_servers, rt.settings.kafka_client_options())
    kafka_bound = "ready" if checks["kafka"] and checks["topics"] else "waiting"
    if checks["database"]:
        return {"status": "ready", "checks": checks, "kafka_bound": kafka_bound}
    return problem(503, "Not ready", code="not-ready", checks=checks, kafka_bound=kafka_bound)


async def _kafka_ready(request: Request) -> Any:
    """/health/ready/kafka: Kafka-bound work (relay, consumers) can run: Kafka answers, topics exist."""
    rt: Runtime = request.app.state.runtime
    checks = {"kafka": await kafka_reachable(rt.settings.kafka_bootstrap_servers, rt.settings.kafka_client_options()),
              "topics": rt.kafka_ready.is_set()}
    if all(checks.values()):
        return {"status": "ready", "checks": checks}
    return problem(503, "Kafka-bound work waiting", code="kafka-not-ready", checks=checks)


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
