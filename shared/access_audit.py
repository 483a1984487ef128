"""Access audit: who read or exported which participant's data, and when (HIPAA / 42 CFR Part 2).

Every service that shows participant data to a person records each read here, in its own
database: one row per participant shown, with the reader (token ``sub``), the agency and what was
read. The table is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so an audit row
cannot be edited away by the application. Rows older than the retention (six years at least) are
removed by the retention purge alone (:mod:`shared.retention`), the one DELETE the guard lets through.

A service adds the table with :func:`create_access_log` in one of its migrations, records reads
with :func:`record` and lets supervisors read the log with :func:`read`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.auth import Principal

ACCESS_LOG_DDL: tuple[str, ...] = (
    """
    CREATE TABLE access_log (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        participant_id  UUID,
        agency_id       TEXT        NOT NULL,
        actor           TEXT        NOT NULL,
        action          TEXT        NOT NULL,
        at              TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX access_log_participant_idx ON access_log (participant_id, at)",
    """
    CREATE OR REPLACE FUNCTION waypoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$
    """,
    """
    CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION waypoint_append_only()
    """,
)


#: the break-the-glass columns (shared.minimum_necessary): a flagged row carries why the record
#: was opened outside the caller's caseload
ACCESS_REASON_DDL: tuple[str, ...] = (
    "ALTER TABLE access_log ADD COLUMN flagged BOOLEAN NOT NULL DEFAULT false",
    "ALTER TABLE access_log ADD COLUMN reason_kind TEXT",
    "ALTER TABLE access_log ADD COLUMN reason TEXT",
    "CREATE INDEX access_log_flagged_idx ON access_log (agency_id, id) WHERE flagged",
)


def create_access_log() -> None:
    """Create the append-only ``access_log`` table (call from an Alembic migration)."""
    from alembic import op

    for statement in ACCESS_LOG_DDL:
        op.execute(statement)


def add_access_reasons() -> None:
    """Add the break-the-glass columns to ``access_log`` (call from an Alembic migration)."""
    from alembic import op

    for statement in ACCESS_REASON_DDL:
        op.execute(statement)


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    agency_id: str,
    actor: str,
    action: str,
    participant_ids: Sequence[UUID | None],
) -> None:
    """One audit row per participant whose data ``actor`` was shown (one statement); None for an
    access that concerns no one participant."""
    if not participant_ids:
        return
    await conn.execute(
        "INSERT INTO access_log (participant_id, agency_id, actor, action)"
        " SELECT p, $2, $3, $4 FROM unnest($1::uuid[]) AS p",
        list(participant_ids),
        agency_id,
        actor,
        action,
    )


async def record_broken_glass(
    conn: asyncpg.Connection | asyncpg.Pool, *, agency_id: str, actor: str, action: str, participant_id: UUID,
    reason_kind: str, reason: str,
) -> None:
    """One flagged row: ``actor`` opened ``participant_id``'s record outside their caseload, and why."""
    await conn.execute(
        "INSERT INTO access_log (participant_id, agency_id, actor, action, flagged, reason_kind, reason)"
        " VALUES ($1, $2, $3, $4, true, $5, $6)",
        participant_id,
        agency_id,
        actor,
        action,
        reason_kind,
        reason,
    )


def _entry(r: asyncpg.Record) -> dict[str, Any]:
    out = {"at": r["at"].isoformat(), "actor": r["actor"], "action": r["action"]}
    if r["flagged"]:  # the glass was broken: why
        out.update(flagged=True, reason_kind=r["reason_kind"], reason=r["reason"])
    return out


async def read(
    conn: asyncpg.Connection | asyncpg.Pool, *, agency_id: str, participant_id: UUID, limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The reads of one participant's data in this service, newest first (all, or ``limit`` of
    them after skipping ``offset``)."""
    rows = await conn.fetch(
        "SELECT at, actor, action, flagged, reason_kind, reason FROM access_log"
        " WHERE participant_id = $1 AND agency_id = $2"
        " ORDER BY id DESC LIMIT $3 OFFSET $4",
        participant_id,
        agency_id,
        limit,
        offset,
    )
    return [_entry(r) for r in rows]


async def flagged(
    conn: asyncpg.Connection | asyncpg.Pool, *, agency_id: str, since: datetime | None = None,
    actor: str | None = None, participant_id: UUID | None = None, limit: int | None = None, offset: int = 0,
) -> list[dict[str, Any]]:
    """The agency's flagged accesses (records opened by breaking the glass), newest first."""
    rows = await conn.fetch(
        "SELECT id, at, participant_id, actor, action, reason_kind, reason FROM access_log"
        " WHERE agency_id = $1 AND flagged AND ($2::timestamptz IS NULL OR at >= $2)"
        " AND ($3::text IS NULL OR actor = $3) AND ($4::uuid IS NULL OR participant_id = $4)"
        " ORDER BY id DESC LIMIT $5 OFFSET $6",
        agency_id,
        since,
        actor,
        participant_id,
        limit,
        offset,
    )
    return [
        {
            "id": r["id"],
            "at": r["at"].isoformat(),
            "participant_id": str(r["participant_id"]),
            "actor": r["actor"],
            "action": r["action"],
            "reason_kind": r["reason_kind"],
            "reason": r["reason"],
        }
        for r in rows
    ]


class AccessAudit:
    """The access log as a route sees it: ``await audit("read plan", participant_id)`` records that
    the calling person was shown that participant's data (one row per participant)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, caller: Principal) -> None:
        self.conn = conn
        self.caller = caller

    async def __call__(
        self, action: str, *participant_ids: UUID | None, conn: asyncpg.Connection | None = None
    ) -> None:
        """``conn``: record inside that transaction (with the read it audits) instead of on the pool."""
        await record(conn or self.conn, agency_id=self.caller.agency_id, actor=self.caller.sub, action=action,
                     participant_ids=list(participant_ids))
