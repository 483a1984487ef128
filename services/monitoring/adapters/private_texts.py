"""Reading back the free text monitoring keeps out of events (check-in notes, the words of new
warning signs and coping strategies, SOS messages, relapse and contact notes)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import asyncpg

Kind = Literal["check_in_note", "warning_sign", "coping_strategy", "help_message", "relapse_note", "contact_note"]


async def assigned_specialist(pool: asyncpg.Pool, participant_id: UUID, agency_id: str) -> tuple[bool, str | None]:
    """(known to monitoring in this agency, the specialist the caseload has for them)."""
    row = await pool.fetchrow(
        "SELECT m.agency_id, c.specialist_id FROM monitored_participants m"
        " LEFT JOIN caseload c ON c.participant_id = m.participant_id WHERE m.participant_id = $1",
        participant_id,
    )
    if row is None or row["agency_id"] != agency_id:
        return False, None
    return True, row["specialist_id"]


async def read(
    pool: asyncpg.Pool,
    participant_id: UUID,
    agency_id: str,
    *,
    kind: str | None = None,
    ref_id: UUID | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A participant's private texts, newest first; ``before`` is the ``id`` of the last one seen."""
    rows = await pool.fetch(
        "SELECT id, kind, ref_id, body, written_by, written_at FROM private_texts"
        " WHERE participant_id = $1 AND agency_id = $2 AND ($3::text IS NULL OR kind = $3)"
        " AND ($4::uuid IS NULL OR ref_id = $4) AND ($5::bigint IS NULL OR id < $5)"
        " ORDER BY id DESC LIMIT $6",
        participant_id,
        agency_id,
        kind,
        ref_id,
        before,
        limit,
    )
    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "ref_id": str(r["ref_id"]),
            "body": r["body"],
            "written_by": r["written_by"],
            "written_at": r["written_at"].isoformat(),
        }
        for r in rows
    ]
