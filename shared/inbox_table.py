"""The inbox as a port: which events a consumer has already handled.

A consumer records an event's id before handling it, in the same transaction as the effects; an
id it has recorded before is a redelivery and is skipped. :class:`PostgresInbox` is the ``inbox``
table (``(consumer, event_id)`` primary key); :class:`shared.memory.InMemoryInbox` is the fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID


class Inbox(Protocol):
    async def record(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Record ``event_ids`` as handled by ``consumer``; returns those not recorded before."""
        ...


@dataclass(frozen=True)
class PostgresInbox:
    """The ``inbox`` table, through a connection inside the handler's transaction."""

    conn: Any

    async def record(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        if not event_ids:
            return set()
        rows = await self.conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
            " RETURNING event_id",
            consumer,
            list(dict.fromkeys(event_ids)),
        )
        return {r["event_id"] for r in rows}
