"""Reads that skip the aggregate: the current plan from its read model, past versions and the
history straight from the private version records in the event store."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.planning.adapters.streams import stream_of
from services.planning.domain.lifecycle import PlanNotFound
from services.planning.domain.recorded import PlanDocument, PlanVersionRecorded
from services.planning.projections.current_plan import CONTENT
from shared.events import load_event
from shared.keyring import KeyRing, open_event_data

_VERSIONS = (
    "SELECT schema_version, data::text AS data FROM events"
    " WHERE stream_id = $1 AND agency_id = $2 AND event_type = 'PlanVersionRecorded'"
)


def _no_plan() -> PlanNotFound:
    return PlanNotFound("no plan for this participant", field="participant_id")


def document_view(document: PlanDocument) -> dict[str, Any]:
    body: dict[str, Any] = document.model_dump(mode="json")
    return {
        "status": body["status"],
        "sections": body["content"],
        "education": body["education"],
        "source_assessment_id": body["source_assessment_id"],
    }


async def current_plan(pool: asyncpg.Pool, participant_id: UUID, agency_id: str, keys: KeyRing) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT plan_id, version, content::text AS content, open_reviews::text AS open_reviews, risk_level,"
        " updated_at FROM plans WHERE participant_id = $1 AND agency_id = $2",
        participant_id,
        agency_id,
    )
    if row is None:
        raise _no_plan()
    stored = orjson.loads(row["content"])
    opened = await keys.keys(pool, [participant_id])
    content = opened.open_json(participant_id, CONTENT, stored.get("content"))
    if content is None:
        stored.pop("content", None)  # erased: the plan reads with empty sections
    else:
        stored["content"] = content
    document = PlanDocument.model_validate(stored)
    return opened.mark({
        "participant_id": str(participant_id),
        "plan_id": str(row["plan_id"]),
        "version": row["version"],
        **document_view(document),
        "open_reviews": orjson.loads(row["open_reviews"]),
        "risk_level": row["risk_level"],
        "updated_at": row["updated_at"].isoformat(),
    }, participant_id)


async def _record(pool: asyncpg.Pool, keys: KeyRing, participant_id: UUID, row: asyncpg.Record | None
                  ) -> PlanVersionRecorded:
    if row is None:
        raise _no_plan()
    data = orjson.loads(row["data"])
    open_event_data(await keys.keys(pool, [participant_id]), participant_id, "PlanVersionRecorded", data)
    record = load_event("PlanVersionRecorded", row["schema_version"], data)
    assert isinstance(record, PlanVersionRecorded)
    return record


def version_view(record: PlanVersionRecorded) -> dict[str, Any]:
    return {
        "participant_id": str(record.participant_id),
        "plan_id": str(record.plan_id),
        "version": record.version,
        **document_view(record.document),
        "recorded_at": record.recorded_at.isoformat(),
        "changed_by": record.changed_by,
    }


async def erasure_marked(pool: asyncpg.Pool, keys: KeyRing, participant_id: UUID, body: dict[str, Any]
                         ) -> dict[str, Any]:
    """``body`` with ``erased``/``erased_at`` when the participant was erased (docs/security.md)."""
    return (await keys.keys(pool, [participant_id])).mark(body, participant_id)


async def plan_version(
    pool: asyncpg.Pool, participant_id: UUID, agency_id: str, version: int, keys: KeyRing
) -> PlanVersionRecorded:
    """The plan as it was at ``version`` (404 when the plan never had that version)."""
    row = await pool.fetchrow(
        _VERSIONS + " AND (data->>'version')::int = $3", stream_of(participant_id), agency_id, version
    )
    return await _record(pool, keys, participant_id, row)


async def plan_as_of(
    pool: asyncpg.Pool, participant_id: UUID, agency_id: str, at: datetime, keys: KeyRing
) -> PlanVersionRecorded:
    """The version in force at ``at``: the last one recorded at or before it (404 before the first)."""
    row = await pool.fetchrow(
        _VERSIONS + " AND occurred_at <= $3 ORDER BY stream_version DESC LIMIT 1",
        stream_of(participant_id),
        agency_id,
        at,
    )
    return await _record(pool, keys, participant_id, row)


async def latest_version(
    pool: asyncpg.Pool, participant_id: UUID, agency_id: str, keys: KeyRing
) -> PlanVersionRecorded:
    row = await pool.fetchrow(_VERSIONS + " ORDER BY stream_version DESC LIMIT 1", stream_of(participant_id), agency_id)
    return await _record(pool, keys, participant_id, row)


async def history(
    pool: asyncpg.Pool, participant_id: UUID, agency_id: str, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The versions, oldest first (``limit`` of them after ``offset``, or all), with who made each,
    when, what kind of change and which sections (no content)."""
    rows = await pool.fetch(
        "SELECT (data - 'document')::text AS data, data->'document'->>'status' AS status FROM events"
        " WHERE stream_id = $1 AND agency_id = $2 AND event_type = 'PlanVersionRecorded' ORDER BY stream_version"
        " LIMIT $3 OFFSET $4",
        stream_of(participant_id),
        agency_id,
        limit,
        offset,
    )
    if not rows and not await pool.fetchval(
        "SELECT 1 FROM events WHERE stream_id = $1 AND agency_id = $2 AND event_type = 'PlanVersionRecorded' LIMIT 1",
        stream_of(participant_id), agency_id,
    ):
        raise _no_plan()
    entries = []
    for row in rows:
        data = orjson.loads(row["data"])
        entries.append(
            {
                "version": data["version"],
                "change": data["change"],
                "sections_changed": data["sections_changed"],
                "status": row["status"],
                "changed_by": data["changed_by"],
                "recorded_at": data["recorded_at"],
            }
        )
    return entries
