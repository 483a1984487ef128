"""Monitoring's process: HTTP API, outbox relay, the intake reactions, the all-topics read-model
consumer (batch processing, see ``projections.read_models``) and the schedulers."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.monitoring.adapters.tables import PostgresTables, lock_participants_of
from services.monitoring.application import reactions
from services.monitoring.application.check_in_writer import CheckInWriter
from services.monitoring.application.scheduler import MILESTONES, MISSED_CHECK_INS, Scheduler, utc_now
from services.monitoring.entrypoints import latest_api
from services.monitoring.entrypoints.api import router
from services.monitoring.entrypoints.progress_api import router as progress_router
from services.monitoring.projections import read_models
from services.monitoring.settings import MonitoringSettings
from shared import minimum_necessary
from shared.clock import Clock
from shared.cloudevents import topic_for
from shared.events import SERVICES
from shared.keyring import ERASURE_EVENTS, on_participant_erased
from shared.operations import Probe
from shared.runtime import ConsumerSpec, Runtime, create_service_app
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

#: How late the sweeps are: age of the oldest passed deadline not processed yet (operations figures).
PROBES = (
    Probe("missed-check-ins", "sweep", "monitored_participants", "check_in_deadline",
          loop="monitoring.missed-check-ins", key="participant_id"),
    Probe("milestones", "sweep", "monitored_participants", "milestone_due_at",
          loop="monitoring.milestones", key="participant_id"),
)


def create_app(
    settings: ServiceSettings | None = None, monitoring: MonitoringSettings | None = None, clock: Clock | None = None
) -> FastAPI:
    """``clock``: the service's time (tests move one by hand); the system's by default."""
    options = monitoring or MonitoringSettings()

    def consumers(rt: Runtime) -> list[ConsumerSpec]:
        return [
            ConsumerSpec("reactions", [topic_for("intake")], reactions.on_intake_event, event_types=reactions.HANDLED,
                         before_batch=lock_participants_of),
            ConsumerSpec(
                read_models.CONSUMER,
                [topic_for(s) for s in SERVICES],
                read_models.apply,
                batch_handler=read_models.apply_fresh,
            ),
            minimum_necessary.assignment_consumer(),  # who is on whose caseload
            ConsumerSpec("erasure", [topic_for("intake")], on_participant_erased, event_types=ERASURE_EVENTS),
        ]

    def background(rt: Runtime) -> Sequence[Coroutine[Any, Any, None]]:
        writer = CheckInWriter(
            rt.pool, rt.store, max_batch=options.check_in_batch_max, writers=options.check_in_writers, keys=rt.keys
        )
        rt.provide(writer)
        if not options.scheduler_enabled:
            return [writer.run()]
        missed = [
            Scheduler(
                rt.pool,
                MISSED_CHECK_INS,
                clock=rt.clock,
                batch_size=options.scheduler_batch_size,
                idle_poll_s=options.scheduler_idle_poll_s,
            )
            for _ in range(options.scheduler_workers)
        ]
        milestones = Scheduler(rt.pool, MILESTONES, clock=rt.clock, idle_poll_s=options.milestone_poll_s)
        return [writer.run(), *(s.run() for s in [*missed, milestones])]

    return create_service_app(
        "monitoring",
        routers=[router, progress_router, latest_api.router, minimum_necessary.router],
        migrations=MIGRATIONS,
        settings=settings,
        consumers=consumers,
        background=background,
        clock=clock or utc_now,
        tables=PostgresTables,
        probes=PROBES,
    )
