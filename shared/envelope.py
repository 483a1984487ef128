"""The envelope around a domain event: identity, stream position, agency and causation.

``NewEvent`` is what a command hands to the event store; ``StoredEvent`` is what comes back out
(of the store or, via Kafka, of another service). The payload stays a plain ``DomainEvent``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from shared.events import DomainEvent, load_event


@dataclass(frozen=True)
class Metadata:
    """Why an event happened: the request or event chain it belongs to, and who caused it."""

    correlation_id: str
    causation_id: str | None = None
    actor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"correlation_id": self.correlation_id, "causation_id": self.causation_id, "actor": self.actor}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        return cls(
            correlation_id=str(data.get("correlation_id") or uuid.uuid4()),
            causation_id=data.get("causation_id"),
            actor=data.get("actor"),
        )


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended to a stream."""

    stream_id: str
    stream_type: str
    agency_id: str
    event: DomainEvent
    metadata: Metadata
    participant_id: UUID | None = None
    event_id: UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def event_type(self) -> str:
        return type(self.event).event_name

    @property
    def schema_version(self) -> int:
        return type(self.event).schema_version


@dataclass(frozen=True)
class StoredEvent:
    """An event as recorded: position in its stream and in the store, plus the raw data.

    ``data`` is kept as stored (possibly an older schema version); :attr:`event` upcasts and
    validates it into the current model on first use.
    """

    global_position: int
    stream_id: str
    stream_type: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    agency_id: str
    participant_id: UUID | None
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]
    metadata: Metadata

    @property
    def event(self) -> DomainEvent:
        return load_event(self.event_type, self.schema_version, self.data)
