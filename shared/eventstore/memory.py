"""In-memory event store: the reference implementation for unit tests and the contract suite."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.envelope import NewEvent, StoredEvent
from shared.eventstore.base import ConcurrencyError, check_single_stream


class InMemoryEventStore:
    """Keeps events in lists; same semantics as the PostgreSQL store, no durability."""

    def __init__(self) -> None:
        self._all: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        self._event_ids: set[Any] = set()
        self._lock = asyncio.Lock()

    async def append(
        self, events: Sequence[NewEvent], *, expected_version: int, conn: Any = None
    ) -> list[StoredEvent]:
        async with self._lock:
            self._check(events, expected_version)
            return self._append_checked(events, expected_version)

    def _check(self, events: Sequence[NewEvent], expected_version: int) -> None:
        stream_id = check_single_stream(events)
        if len(self._streams.get(stream_id, [])) != expected_version:
            raise ConcurrencyError(stream_id, expected_version)
        if any(e.event_id in self._event_ids for e in events):
            raise ValueError("duplicate event id")

    def _append_checked(self, events: Sequence[NewEvent], expected_version: int) -> list[StoredEvent]:
        stream_id = events[0].stream_id
        stream = self._streams.setdefault(stream_id, [])
        now = datetime.now(UTC)
        stored = [
            StoredEvent(
                global_position=len(self._all) + i + 1,
                stream_id=stream_id,
                stream_type=e.stream_type,
                stream_version=expected_version + i + 1,
                event_id=e.event_id,
                event_type=e.event_type,
                schema_version=e.schema_version,
                agency_id=e.agency_id,
                participant_id=e.participant_id,
                occurred_at=e.occurred_at,
                recorded_at=now,
                data=e.event.model_dump(mode="json"),
                metadata=e.metadata,
            )
            for i, e in enumerate(events)
        ]
        stream.extend(stored)
        self._all.extend(stored)
        self._event_ids.update(e.event_id for e in events)
        return stored

    async def append_streams(
        self, groups: Sequence[tuple[Sequence[NewEvent], int]], *, conn: Any = None
    ) -> None:
        """All groups or none, like the PostgreSQL store."""
        non_empty = [(events, expected) for events, expected in groups if events]
        async with self._lock:
            for events, expected in non_empty:
                self._check(events, expected)
            for events, expected in non_empty:
                self._append_checked(events, expected)

    async def read_stream(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None, conn: Any = None
    ) -> list[StoredEvent]:
        last = to_version if to_version is not None else float("inf")
        return [e for e in self._streams.get(stream_id, []) if from_version <= e.stream_version <= last]

    async def read_streams(self, after: Mapping[str, int], *, conn: Any = None) -> dict[str, list[StoredEvent]]:
        return {sid: [e for e in self._streams.get(sid, []) if e.stream_version > v] for sid, v in after.items()}

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return self._all[after_position : after_position + limit]

    async def read_participant(
        self, participant_id: Any, *, after_position: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        found = [
            e for e in self._all if e.participant_id == participant_id and e.global_position > after_position
        ]
        return found[:limit]

    def forget(self, event_ids: Sequence[Any]) -> None:
        """Take back events (an in-memory unit of work that raised rolls back this way)."""
        gone = set(event_ids)
        if not gone:
            return
        self._all = [e for e in self._all if e.event_id not in gone]
        for stream_id, events in list(self._streams.items()):
            self._streams[stream_id] = [e for e in events if e.event_id not in gone]
        self._event_ids -= gone
