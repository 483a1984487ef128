"""Helpers for planning's integration tests: publish other services' events, read planning's."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import orjson
from aiokafka import ConsumerRecord

from shared import cloudevents
from shared.cloudevents import topic_for
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.testing.kafka import collect, eventually, header, produce_raw

AGENCY = "agency-plan"


async def publish(bootstrap: str, service: str, event: Any, *, agency: str = AGENCY, times: int = 1) -> NewEvent:
    """Publish ``event`` as ``service`` would (CloudEvents binary mode), ``times`` times with one id."""
    participant_id: UUID = event.participant_id
    new = NewEvent(
        stream_id=f"{service}-{participant_id}",
        stream_type=service,
        agency_id=agency,
        participant_id=participant_id,
        event=event,
        metadata=Metadata(correlation_id=str(uuid.uuid4())),
    )
    key, value, headers = cloudevents.encode(new, service)
    for _ in range(times):
        await produce_raw(bootstrap, topic_for(service), value, key=key.encode() if key else None, headers=headers)
    return new


async def on_caseload(pool: Any, participant_id: UUID, specialist_id: str | None) -> None:
    """Wait until planning's projection of assignments has the participant with this specialist."""
    await eventually(
        lambda: pool.fetchval(
            "SELECT specialist_id IS NOT DISTINCT FROM $2 FROM caseload_assignments WHERE participant_id = $1",
            participant_id, specialist_id,
        ),
        message="the assignment to reach planning",
    )


async def planning_records(
    bootstrap: str, participant_id: UUID, event_name: str, *, count: int = 1, timeout: float = 20.0
) -> list[ConsumerRecord]:
    """Records of ``event_name`` about ``participant_id`` on planning's topic (waits for ``count``)."""

    def wanted(record: ConsumerRecord) -> bool:
        ce_type = header(record, "ce_type") or ""
        return header(record, "ce_subject") == str(participant_id) and ce_type.split(".")[2:3] == [event_name]

    return await collect(bootstrap, topic_for("planning"), wanted, count=count, timeout=timeout)


async def all_planning_records(
    bootstrap: str, participant_id: UUID, *, timeout: float = 5.0, count: int = 10_000
) -> list[ConsumerRecord]:
    """Every record about ``participant_id`` on planning's topic: all seen within ``timeout``, or the
    first ``count`` plus a grace period (so an extra record before the last expected one is caught)."""
    return await collect(
        bootstrap,
        topic_for("planning"),
        lambda r: header(r, "ce_subject") == str(participant_id),
        count=count,
        timeout=timeout,
    )


def payload(record: ConsumerRecord) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(record.value)
    return data


def event_names(records: list[ConsumerRecord]) -> list[str]:
    return [(header(r, "ce_type") or "").split(".")[2] for r in records]


def stream_events(events: list[DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events]
