"""Notifications' process: HTTP API, outbox relay, the consumer of the other services' events,
the dispatcher (email, webhooks), the escalation sweep, and the HTTP event feed (its store is
filled by a consumer group of its own over all four topics)."""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from services.notifications.adapters.tables import PostgresTables
from services.notifications.application.consents import WITHDRAWING_EVENTS, remember_withdrawal
from services.notifications.application.dispatch import Dispatcher
from services.notifications.application.escalations import run_escalations
from services.notifications.application.reactions import batch_handler, handler
from services.notifications.entrypoints.api import router
from services.notifications.entrypoints.feed import router as feed_router
from services.notifications.projections import event_feed
from services.notifications.settings import NotificationSettings
from shared import minimum_necessary
from shared.agency_copier import AgencyCopier
from shared.cloudevents import topic_for
from shared.events import SERVICES
from shared.keyring import ERASURE_EVENTS, on_participant_erased
from shared.operations import Probe
from shared.runtime import ConsumerSpec, Runtime, create_service_app
from shared.settings import ServiceSettings, load_settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

#: Operations figures: how late the escalation sweep is, how long due deliveries have waited.
PROBES = (
    Probe("escalations", "sweep", "alerts", "acknowledge_by", where="acknowledged_at IS NULL",
          loop="notifications.escalations", key="alert_id"),
    Probe("deliveries", "queue", "deliveries", "due_at", where="status = 'pending'",
          loop="notifications.dispatch", key="notification_id"),
)


#: pg_advisory_lock key: one agency copier per installation (several workers or replicas wait).
COPIER_LOCK = 0x636F7079


def copier_settings(s: ServiceSettings, cfg: NotificationSettings) -> ServiceSettings:
    """The service's Kafka settings with the copier's principal (when the services use SASL)."""
    if not s.kafka_authenticated:
        return s
    return s.as_kafka_principal(cfg.copier_kafka_username, cfg.copier_kafka_password, cfg.copier_kafka_password_file)


async def _agency_copier(rt: Runtime, cfg: NotificationSettings) -> None:
    s = copier_settings(rt.settings, cfg)
    options = s.kafka_client_options()
    leader = await asyncpg.connect(s.dsn)  # a session of its own: the lock lives as long as it does
    try:
        await leader.execute("SELECT pg_advisory_lock($1)", COPIER_LOCK)
        await AgencyCopier(s.kafka_bootstrap_servers, partitions=s.kafka_partitions,
                           replication_factor=s.kafka_replication_factor, retention_ms=s.kafka_retention_ms,
                           client_options=options).run()
    finally:
        await leader.close()


def create_app(
    settings: ServiceSettings | None = None, notification_settings: NotificationSettings | None = None
) -> FastAPI:
    cfg = notification_settings or NotificationSettings()
    settings = settings or load_settings("notifications")
    if cfg.agency_topics:
        copier_settings(settings, cfg).kafka_client_options()  # a copier without its credential: no start
    return create_service_app(
        "notifications",
        routers=[router, feed_router, minimum_necessary.router],
        migrations=MIGRATIONS,
        settings=settings,
        tables=PostgresTables,
        consumers=lambda rt: [
            ConsumerSpec(
                "alerts",
                [topic_for("intake"), topic_for("planning"), topic_for("monitoring")],
                handler(cfg),
                batch_handler=batch_handler(rt.store, cfg, rt.keys),
            ),
            # The HTTP event feed's store: every published event of every service, its own group.
            ConsumerSpec("event-feed", [topic_for(s) for s in SERVICES], event_feed.store_one,
                         batch_handler=event_feed.store),
            # revoked/expired consents and withdrawn referrals, checked again before a referral is sent
            ConsumerSpec("consents", [topic_for("intake")], remember_withdrawal,
                         event_types=frozenset(WITHDRAWING_EVENTS)),
            minimum_necessary.assignment_consumer(),  # who is on whose caseload
            ConsumerSpec("erasure", [topic_for("intake")], on_participant_erased, event_types=ERASURE_EVENTS),
        ],
        background=lambda rt: _background(rt, cfg),
        probes=PROBES,
    )


def _background(rt: Runtime, cfg: NotificationSettings) -> list[Coroutine[Any, Any, None]]:
    rt.provide(cfg)  # the routes read the service's own settings typed: rt.part(NotificationSettings)
    copier = [_agency_copier(rt, cfg)] if cfg.agency_topics else []
    return [Dispatcher(rt, cfg).run(), run_escalations(rt, cfg), *copier]
