"""Helpers for monitoring's integration tests: enrol through Kafka, read what was published."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from aiokafka import ConsumerRecord

from services.monitoring.application import handlers
from services.monitoring.domain.commands import SetCheckInSchedule, StartMonitoring
from shared import cloudevents
from shared.catalogue.intake import ParticipantDischarged, ParticipantEnrolled
from shared.clock import ManualClock
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.minimum_necessary import upsert_assignment
from shared.runtime import Runtime
from shared.testing.auth import bearer
from shared.testing.kafka import collect, header, produce_raw
from shared.testing.services import RunningService, running_service

AGENCY = "agency-mon"
MONITORING_TOPIC = cloudevents.topic_for("monitoring")
STAFF = bearer(sub="crs-1", agency_id=AGENCY, roles=("specialist",))
SUPERVISOR = bearer(sub="sup-1", agency_id=AGENCY, roles=("supervisor",))


#: A service clock a test moves by hand (``create_app(clock=...)``, or patch ``utc_now``).
MovableClock = ManualClock


async def publish_intake(bootstrap: str, event: DomainEvent, participant_id: UUID, agency: str = AGENCY) -> None:
    new = NewEvent(
        stream_id=f"participant-{participant_id}",
        stream_type="participant",
        agency_id=agency,
        participant_id=participant_id,
        event=event,
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )
    key, value, headers = cloudevents.encode(new, "intake")
    await produce_raw(
        bootstrap, cloudevents.topic_for("intake"), value, key=key.encode() if key else None, headers=headers
    )


def enrolled(
    pid: UUID,
    specialist: str = "crs-1",
    start: date | None = None,
    *,
    time_zone: str | None = None,
    at: datetime | None = None,
) -> ParticipantEnrolled:
    return ParticipantEnrolled(
        participant_id=pid,
        specialist_id=specialist,
        recovery_start_date=start,
        enrolled_at=at or datetime.now(UTC),
        time_zone=time_zone,
    )


def discharged(pid: UUID) -> ParticipantDischarged:
    return ParticipantDischarged(participant_id=pid, reason="plan_completed", discharged_at=datetime.now(UTC))


async def enrol_directly(
    rt: Runtime,
    pid: UUID,
    *,
    interval: str | None = None,
    grace: str | None = None,
    agency: str = AGENCY,
    specialist: str = "crs-1",
) -> None:
    """Start monitoring through the application layer (faster than via Kafka for many people), and
    put the participant on ``specialist``'s caseload as intake's enrolment event would."""
    async with rt.uow(Metadata(correlation_id=str(uuid.uuid4()), actor="test"), agency_id=agency) as uow:
        await handlers.start_monitoring(StartMonitoring(participant_id=pid, specialist_id=specialist), uow)
        await upsert_assignment(uow.conn, pid, agency, specialist, uow.now)
        if interval:
            schedule = SetCheckInSchedule(participant_id=pid, interval=interval, grace=grace)
            await handlers.set_check_in_schedule(schedule, uow)


async def published(
    bootstrap: str, pid: UUID, event_type: str, *, count: int, timeout: float = 30.0
) -> list[ConsumerRecord]:
    def mine(r: ConsumerRecord) -> bool:
        return header(r, "ce_subject") == str(pid) and (header(r, "ce_type") or "").split(".")[2] == event_type

    return await collect(bootstrap, MONITORING_TOPIC, mine, count=count, timeout=timeout)


def data(record: ConsumerRecord) -> dict[str, Any]:
    return orjson.loads(record.value)


async def stored(rt: Runtime, pid: UUID, event_type: str | None = None) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        "SELECT event_type, data::text AS data, recorded_at FROM events WHERE participant_id = $1"
        " AND ($2::text IS NULL OR event_type = $2) ORDER BY global_position",
        pid,
        event_type,
    )
    return [{"type": r["event_type"], "recorded_at": r["recorded_at"], **orjson.loads(r["data"])} for r in rows]


@contextlib.asynccontextmanager
async def monitoring(
    infra: Any, *, scheduler: bool = True, database: str | None = None, **overrides: Any
) -> AsyncIterator[RunningService]:
    """The monitoring service in-process on a fresh (or the named) database."""
    saved = os.environ.get("MONITORING_SCHEDULER_ENABLED")
    os.environ["MONITORING_SCHEDULER_ENABLED"] = "true" if scheduler else "false"
    os.environ.setdefault("MONITORING_SCHEDULER_IDLE_POLL_S", "0.1")
    os.environ.setdefault("MONITORING_MILESTONE_POLL_S", "0.2")
    try:
        async with running_service(
            "monitoring",
            kafka_bootstrap=infra.kafka_bootstrap,
            database_url=infra.database_url,
            database=database,
            relay_poll_interval_s=0.1,
            **overrides,
        ) as svc:
            for consumer in svc.runtime.consumers:
                await consumer.started.wait()
            yield svc
    finally:
        if saved is None:
            os.environ.pop("MONITORING_SCHEDULER_ENABLED", None)
        else:
            os.environ["MONITORING_SCHEDULER_ENABLED"] = saved
