"""PostgreSQL event store on asyncpg.

The hot path talks to asyncpg directly: one ``INSERT ... SELECT FROM unnest(...)`` per append,
whatever the number of events, so an append costs one round trip inside the caller's transaction.
The primary key rejects an append behind the stream; the ``EXISTS`` guard rejects one ahead of it
(which would otherwise leave a gap in the versions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import orjson

from shared.envelope import Metadata, NewEvent, StoredEvent
from shared.eventstore.base import ConcurrencyError, check_single_stream

_APPEND = """
INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,
                    agency_id, participant_id, occurred_at, data, metadata)
SELECT $1, $2, v, id, t, sv, $3, $4, o, d::jsonb, m::jsonb
FROM unnest($5::int[], $6::uuid[], $7::text[], $8::int[], $9::timestamptz[], $10::text[], $11::text[])
     AS x(v, id, t, sv, o, d, m)
WHERE $12::int = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND stream_version = $12)
RETURNING global_position, recorded_at
"""

# The common case (a command producing one event) skips the array round-trip through unnest.
_APPEND_ONE = """
INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,
                    agency_id, participant_id, occurred_at, data, metadata)
SELECT $1, $2, $5, $6, $7, $8, $3, $4, $9, $10::jsonb, $11::jsonb
WHERE $12::int = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND stream_version = $12)
RETURNING global_position, recorded_at
"""

# Many streams in one statement (a scheduler deciding for hundreds of participants at once). Each
# row carries its stream's expected version: the primary key rejects a stream that moved on, the
# EXISTS guard one that never reached it (checked once per stream through its first new event).
_APPEND_STREAMS = """
INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version,
                    agency_id, participant_id, occurred_at, data, metadata)
SELECT s, st, v, id, t, sv, a, p, o, d::jsonb, m::jsonb
FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::uuid[], $6::text[], $7::int[], $8::text[],
            $9::uuid[], $10::timestamptz[], $11::text[], $12::text[]) AS x(s, st, exp, v, id, t, sv, a, p, o, d, m)
WHERE x.exp = 0 OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = x.s AND e.stream_version = x.exp)
"""


async def append_streams(
    conn: asyncpg.Connection, groups: Sequence[tuple[Sequence[NewEvent], int]],
    payloads: Mapping[Any, dict[str, Any]] | None = None,
) -> None:
    """Append several streams' events in one statement, inside the caller's transaction.

    ``groups`` holds (events of one stream, that stream's expected version). Either every stream
    gets its events or :class:`ConcurrencyError` is raised and the caller's transaction must roll
    back. ``payloads`` (by event id) replaces the payload of some events (their sealed form).
    """
    rows: list[tuple[NewEvent, int, int]] = []
    for events, expected in groups:
        if events:
            check_single_stream(events)
        rows.extend((e, expected, expected + i) for i, e in enumerate(events, start=1))
    if not rows:
        return
    try:
        status = await conn.execute(
            _APPEND_STREAMS,
            [e.stream_id for e, _, _ in rows],
            [e.stream_type for e, _, _ in rows],
            [exp for _, exp, _ in rows],
            [v for _, _, v in rows],
            [e.event_id for e, _, _ in rows],
            [e.event_type for e, _, _ in rows],
            [e.schema_version for e, _, _ in rows],
            [e.agency_id for e, _, _ in rows],
            [e.participant_id for e, _, _ in rows],
            [e.occurred_at for e, _, _ in rows],
            [orjson.dumps((payloads or {}).get(e.event_id) or e.event.model_dump(mode="json")).decode()
             for e, _, _ in rows],
            [orjson.dumps(e.metadata.as_dict()).decode() for e, _, _ in rows],
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "events_pkey":
            raise ConcurrencyError("several streams", -1) from None
        raise
    if int(status.split()[-1]) != len(rows):
        raise ConcurrencyError("several streams", -1)


_COLUMNS = (
    "global_position, stream_id, stream_type, stream_version, event_id, event_type, schema_version, "
    "agency_id, participant_id, occurred_at, recorded_at, data::text AS data, metadata::text AS metadata"
)


def _row_to_event(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        global_position=row["global_position"],
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        stream_version=row["stream_version"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        agency_id=row["agency_id"],
        participant_id=row["participant_id"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        data=orjson.loads(row["data"]),
        metadata=Metadata.from_dict(orjson.loads(row["metadata"])),
    )


class PostgresEventStore:
    """Event store over an asyncpg pool; pass ``conn`` to take part in a caller's transaction.

    With a ``sealer`` (shared.keyring.EventSealer) the parts of payloads that event types declare
    ``sealed`` are stored encrypted under the participant's data key and opened on read; without
    one, appending such an event is refused (its text would be stored in clear)."""

    def __init__(self, pool: asyncpg.Pool, *, sealer: Any = None) -> None:
        self._pool = pool
        self._sealer = sealer

    async def _seal(self, conn: Any, events: Sequence[NewEvent], datas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not any(type(e.event).sealed for e in events):
            return datas
        if self._sealer is None:
            raise RuntimeError("an event with sealed text cannot be appended without a sealer (shared.keyring)")
        sealed: list[dict[str, Any]] = await self._sealer.seal(conn, events, datas)
        return sealed

    async def _open(self, conn: Any, events: list[StoredEvent]) -> list[StoredEvent]:
        if self._sealer is not None and events:
            await self._sealer.open(conn if conn is not None else self._pool, events)
        return events

    async def append(
        self, events: Sequence[NewEvent], *, expected_version: int, conn: Any = None
    ) -> list[StoredEvent]:
        stream_id = check_single_stream(events)
        first = events[0]
        versions = list(range(expected_version + 1, expected_version + 1 + len(events)))
        datas = [e.event.model_dump(mode="json") for e in events]
        if conn is None:
            async with self._pool.acquire() as own, own.transaction():
                return await self.append(events, expected_version=expected_version, conn=own)
        written = await self._seal(conn, events, datas)
        head = (stream_id, first.stream_type, first.agency_id, first.participant_id)
        if len(events) == 1:
            sql = _APPEND_ONE
            args: tuple[Any, ...] = (
                *head, versions[0], first.event_id, first.event_type, first.schema_version, first.occurred_at,
                orjson.dumps(written[0]).decode(), orjson.dumps(first.metadata.as_dict()).decode(), expected_version,
            )
        else:
            sql = _APPEND
            args = (
                *head,
                versions,
                [e.event_id for e in events],
                [e.event_type for e in events],
                [e.schema_version for e in events],
                [e.occurred_at for e in events],
                [orjson.dumps(d).decode() for d in written],
                [orjson.dumps(e.metadata.as_dict()).decode() for e in events],
                expected_version,
            )
        try:
            rows = await conn.fetch(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_pkey":
                raise ConcurrencyError(stream_id, expected_version) from None
            raise
        if not rows:  # the stream is not (yet) at the expected version
            raise ConcurrencyError(stream_id, expected_version)
        return [
            StoredEvent(
                global_position=row["global_position"],
                stream_id=stream_id,
                stream_type=e.stream_type,
                stream_version=version,
                event_id=e.event_id,
                event_type=e.event_type,
                schema_version=e.schema_version,
                agency_id=e.agency_id,
                participant_id=e.participant_id,
                occurred_at=e.occurred_at,
                recorded_at=row["recorded_at"],
                data=data,
                metadata=e.metadata,
            )
            for row, e, version, data in zip(rows, events, versions, datas, strict=True)
        ]

    async def append_streams(
        self, groups: Sequence[tuple[Sequence[NewEvent], int]], *, conn: Any = None
    ) -> None:
        """See :func:`append_streams`; runs in its own transaction without ``conn``."""
        if conn is None:
            async with self._pool.acquire() as own, own.transaction():
                await self.append_streams(groups, conn=own)
            return
        payloads: dict[Any, dict[str, Any]] = {}
        for events, _ in groups:
            if any(type(e.event).sealed for e in events):
                datas = await self._seal(conn, events, [e.event.model_dump(mode="json") for e in events])
                payloads.update((e.event_id, d) for e, d in zip(events, datas, strict=True))
        await append_streams(conn, groups, payloads)

    async def read_stream(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None, conn: Any = None
    ) -> list[StoredEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 "
            "AND ($3::int IS NULL OR stream_version <= $3) ORDER BY stream_version"
        )
        if conn is None:
            rows = await self._pool.fetch(sql, stream_id, from_version, to_version)
        else:
            rows = await conn.fetch(sql, stream_id, from_version, to_version)
        return await self._open(conn, [_row_to_event(r) for r in rows])

    async def read_streams(self, after: Mapping[str, int], *, conn: Any = None) -> dict[str, list[StoredEvent]]:
        found: dict[str, list[StoredEvent]] = {sid: [] for sid in after}
        if not after:
            return found
        sql = (
            f"SELECT {_COLUMNS} FROM events JOIN unnest($1::text[], $2::int[]) AS x(sid, after)"
            " ON stream_id = x.sid AND stream_version > x.after ORDER BY stream_id, stream_version"
        )
        args = (list(after), list(after.values()))
        rows = await (conn.fetch(sql, *args) if conn is not None else self._pool.fetch(sql, *args))
        for row in rows:
            found[row["stream_id"]].append(_row_to_event(row))
        await self._open(conn, [e for events in found.values() for e in events])
        return found

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        sql = f"SELECT {_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2"
        return await self._open(None, [_row_to_event(r) for r in await self._pool.fetch(sql, after_position, limit)])

    async def read_participant(
        self, participant_id: Any, *, after_position: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE participant_id = $1 AND global_position > $2 "
            "ORDER BY global_position LIMIT $3"
        )
        found = [_row_to_event(r) for r in await self._pool.fetch(sql, participant_id, after_position, limit)]
        return await self._open(None, found)
