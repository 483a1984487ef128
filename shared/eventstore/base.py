"""The event store contract shared by every implementation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from shared.envelope import NewEvent, StoredEvent


class ConcurrencyError(Exception):
    """Another writer appended to the stream since the caller read it.

    Raised instead of overwriting: the caller reloads, decides again, or reports a conflict.
    """

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id!r} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class EventStore(Protocol):
    """Streams of events with optimistic concurrency and a global order.

    ``conn`` lets a caller run the operation inside its own transaction (PostgreSQL); the
    in-memory store ignores it.
    """

    async def append(
        self, events: Sequence[NewEvent], *, expected_version: int, conn: Any = None
    ) -> list[StoredEvent]:
        """Append ``events`` (all of one stream) after ``expected_version`` (0 for a new stream).

        Raises :class:`ConcurrencyError` if the stream is not at ``expected_version``.
        """
        ...

    async def append_streams(
        self, groups: Sequence[tuple[Sequence[NewEvent], int]], *, conn: Any = None
    ) -> None:
        """Append to several streams at once: (events of one stream, its expected version) each.

        All or nothing: if any stream is not at its expected version, ConcurrencyError.
        """
        ...

    async def read_stream(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None, conn: Any = None
    ) -> list[StoredEvent]:
        """Events of one stream in version order, optionally limited to a version range."""
        ...

    async def read_streams(self, after: Mapping[str, int], *, conn: Any = None) -> dict[str, list[StoredEvent]]:
        """Several streams at once: for each stream id, its events after the given version, in
        version order (a stream with none maps to an empty list). One round trip on PostgreSQL."""
        ...

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events of all streams after a global position, in global order (for rebuilds)."""
        ...

    async def read_participant(
        self, participant_id: Any, *, after_position: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events about one participant, in global order."""
        ...


def check_single_stream(events: Sequence[NewEvent]) -> str:
    """The stream id shared by ``events``; appending to several streams at once is refused."""
    if not events:
        raise ValueError("nothing to append")
    stream_id = events[0].stream_id
    if any(e.stream_id != stream_id for e in events):
        raise ValueError("one append writes to one stream")
    return stream_id
