"""CloudEvents 1.0 binary content mode on Kafka: attributes in headers, data in the value.

Only this module knows the header names, so producers (the outbox) and consumers (the inbox)
cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from shared.envelope import NewEvent, StoredEvent
from shared.events import DomainEvent, UnknownEventType, load_event, parse_type

SPEC_VERSION = "1.0"
CLASSIFICATION = "restricted"
REGULATION = "42CFRPart2"


class PoisonRecord(ValueError):
    """A record that can never be processed (undecodable, unknown type, invalid data)."""


def topic_for(service: str) -> str:
    """The topic a service publishes on."""
    return f"waypoint.{service}.v1"


def encode(new: NewEvent, service: str) -> tuple[str | None, bytes, list[tuple[str, bytes]]]:
    """Record key, value and headers for an event published by ``service``."""
    event = new.event
    headers: dict[str, str] = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": str(new.event_id),
        "ce_source": f"/waypoint/{service}",
        "ce_type": type(event).type_name(),
        "ce_time": new.occurred_at.isoformat(),
        "content-type": "application/json",
        "ce_agencyid": new.agency_id,
        "ce_correlationid": new.metadata.correlation_id,
        "ce_dataclassification": CLASSIFICATION,
        "ce_dataregulation": REGULATION,
    }
    if new.participant_id is not None:
        headers["ce_subject"] = str(new.participant_id)
    if new.metadata.causation_id:
        headers["ce_causationid"] = new.metadata.causation_id
    key = str(new.participant_id) if new.participant_id is not None else None
    value = orjson.dumps(event.published())
    return key, value, [(k, v.encode()) for k, v in headers.items()]


@dataclass(frozen=True)
class ReceivedEvent:
    """A decoded Kafka record: CloudEvents attributes plus the typed event."""

    event_id: UUID
    ce_type: str
    service: str
    event_type: str
    schema_version: int
    agency_id: str
    participant_id: UUID | None
    occurred_at: datetime
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]
    event: DomainEvent
    topic: str = ""
    partition: int = -1
    offset: int = -1


def as_received(new: NewEvent | StoredEvent, service: str) -> ReceivedEvent:
    """What a consumer will decode from ``encode(new, service)``, without the round trip through
    Kafka: for a service that projects its own events inline, in the transaction that wrote them."""
    event = new.event
    return ReceivedEvent(
        event_id=new.event_id,
        ce_type=type(event).type_name(),
        service=service,
        event_type=new.event_type,
        schema_version=new.schema_version,
        agency_id=new.agency_id,
        participant_id=new.participant_id,
        occurred_at=new.occurred_at,
        correlation_id=new.metadata.correlation_id,
        causation_id=new.metadata.causation_id,
        data=event.published(),
        event=event,
    )


def event_id_of(headers: Any) -> UUID | None:
    """The ``ce_id`` of a record, if it has a well-formed one (no other decoding)."""
    for key, value in headers or ():
        if key == "ce_id":
            try:
                return UUID(value.decode() if isinstance(value, bytes | bytearray) else value)
            except (ValueError, UnicodeDecodeError, AttributeError):
                return None
    return None


def decode(topic: str, partition: int, offset: int, value: bytes | None, headers: Any) -> ReceivedEvent:
    """Decode a record published by :func:`encode`; raises :class:`PoisonRecord` if impossible."""
    try:
        h = {k: (v.decode() if isinstance(v, bytes | bytearray) else v) for k, v in (headers or ())}
        if h.get("ce_specversion") != SPEC_VERSION:
            raise PoisonRecord(f"ce_specversion {h.get('ce_specversion')!r} is not {SPEC_VERSION}")
        for required in ("ce_id", "ce_type", "ce_time", "ce_agencyid"):
            if not h.get(required):
                raise PoisonRecord(f"missing header {required}")
        service, name, version = parse_type(h["ce_type"])
        data = orjson.loads(value or b"")
        if not isinstance(data, dict):
            raise PoisonRecord("record value is not a JSON object")
        event = load_event(name, version, data)
        subject = h.get("ce_subject")
        return ReceivedEvent(
            event_id=UUID(h["ce_id"]),
            ce_type=h["ce_type"],
            service=service,
            event_type=name,
            schema_version=version,
            agency_id=h["ce_agencyid"],
            participant_id=UUID(subject) if subject else None,
            occurred_at=datetime.fromisoformat(h["ce_time"]),
            correlation_id=h.get("ce_correlationid") or h["ce_id"],
            causation_id=h.get("ce_causationid"),
            data=data,
            event=event,
            topic=topic,
            partition=partition,
            offset=offset,
        )
    except PoisonRecord:
        raise
    except (UnknownEventType, ValueError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        # pydantic's ValidationError is a ValueError: invalid data is poison too.
        raise PoisonRecord(f"{type(exc).__name__}: {exc}") from exc
