"""Notifications' process: HTTP API, outbox relay, the consumer of the other services' events,
the dispatcher (email, webhooks) and the escalation sweep."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.notifications.application.dispatch import Dispatcher
from services.notifications.application.escalations import run_escalations
from services.notifications.application.reactions import batch_handler, handler
from services.notifications.entrypoints.api import router
from services.notifications.settings import NotificationSettings
from shared.cloudevents import topic_for
from shared.operations import Probe
from shared.runtime import ConsumerSpec, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

#: Operations figures: how late the escalation sweep is, how long due deliveries have waited.
PROBES = (
    Probe("escalations", "sweep", "alerts", "acknowledge_by", where="acknowledged_at IS NULL",
          loop="notifications.escalations", key="alert_id"),
    Probe("deliveries", "queue", "deliveries", "due_at", where="status = 'pending'",
          loop="notifications.dispatch", key="notification_id"),
)


def create_app(
    settings: ServiceSettings | None = None, notification_settings: NotificationSettings | None = None
) -> FastAPI:
    cfg = notification_settings or NotificationSettings()
    return create_service_app(
        "notifications",
        routers=[router],
        migrations=MIGRATIONS,
        settings=settings,
        consumers=lambda rt: [
            ConsumerSpec(
                "alerts",
                [topic_for("intake"), topic_for("planning"), topic_for("monitoring")],
                handler(cfg),
                batch_handler=batch_handler(rt.store, cfg),
            )
        ],
        background=lambda rt: [Dispatcher(rt, cfg).run(), run_escalations(rt, cfg)],
        probes=PROBES,
    )
