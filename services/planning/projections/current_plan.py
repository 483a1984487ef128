"""Inline read models of planning: the current plan of each participant, and who is enrolled.

Both are written in the same transaction as the events that change them. ``plans`` can be rebuilt
from the event store alone (:func:`rebuild_current_plans`, or ``python -m
services.planning.projections.current_plan``); the participants table comes from intake's events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.planning.domain.state import PLAN, PlanState
from shared.eventstore.base import EventStore
from shared.keyring import EventSealer, KeyRing

#: the purpose (associated data) of the current plan's sealed content
CONTENT = "plans.content"

_UPSERT = """
INSERT INTO plans (participant_id, agency_id, plan_id, version, status, content, open_reviews, risk_level,
                   updated_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)
ON CONFLICT (participant_id) DO UPDATE SET
    plan_id = EXCLUDED.plan_id, version = EXCLUDED.version, status = EXCLUDED.status,
    content = EXCLUDED.content, open_reviews = EXCLUDED.open_reviews, risk_level = EXCLUDED.risk_level,
    updated_at = EXCLUDED.updated_at
"""


def _reviews(state: PlanState) -> list[dict[str, Any]]:
    return [
        {"review_id": str(r.review_id), "urgency": r.urgency.value, "due_on": r.due_on.isoformat()}
        for r in state.open_reviews
    ]


async def project_current_plan(
    conn: asyncpg.Connection, participant_id: UUID, agency_id: str, state: PlanState, at: datetime, keys: KeyRing
) -> None:
    """Upsert the participant's current plan from the aggregate state after a decision; the
    plan's content is sealed under the participant's data key."""
    if state.document is None or state.plan_id is None:
        return
    document = state.document.model_dump(mode="json")
    sealed = await keys.seal(conn, participant_id, agency_id, CONTENT, orjson.dumps(document["content"]).decode())
    if sealed is None:
        del document["content"]  # an erased participant: the content is not written again
    else:
        document["content"] = sealed
    await conn.execute(
        _UPSERT,
        participant_id,
        agency_id,
        state.plan_id,
        state.version,
        state.document.status.value,
        orjson.dumps(document).decode(),
        orjson.dumps(_reviews(state)).decode(),
        state.risk_level,
        at,
    )


async def rebuild_current_plans(
    conn: asyncpg.Connection, store: EventStore, keys: KeyRing, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute every row of ``plans`` from the plan streams; returns the number of plans.

    ``progress(streams_done, streams_total)`` is called as it goes (``waypoint rebuild``).

    Run it inside a transaction: the table is emptied and refilled, so readers never see it half done.
    """
    streams = await conn.fetch(
        "SELECT DISTINCT stream_id, agency_id, participant_id FROM events WHERE stream_type = $1", PLAN.stream_type
    )
    await conn.execute("DELETE FROM plans")
    if progress:
        progress(0, len(streams))
    for done, row in enumerate(streams, 1):
        stored = await store.read_stream(row["stream_id"], conn=conn)
        state = PLAN.fold(e.event for e in stored)
        await project_current_plan(conn, row["participant_id"], row["agency_id"], state, stored[-1].occurred_at, keys)
        if progress and (done % 100 == 0 or done == len(streams)):
            progress(done, len(streams))
    return len(streams)


async def record_enrolment(conn: asyncpg.Connection, participant_id: UUID, agency_id: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO planning_participants (participant_id, agency_id, enrolled_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (participant_id) DO NOTHING",
        participant_id,
        agency_id,
        at,
    )


async def record_discharge(conn: asyncpg.Connection, participant_id: UUID, agency_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE planning_participants SET discharged_at = $3 WHERE participant_id = $1 AND agency_id = $2",
        participant_id,
        agency_id,
        at,
    )


async def is_enrolled(conn: asyncpg.Connection, participant_id: UUID, agency_id: str) -> bool:
    """True when ``participant_id`` is enrolled in ``agency_id`` and not discharged."""
    found = await conn.fetchval(
        "SELECT 1 FROM planning_participants WHERE participant_id = $1 AND agency_id = $2 AND discharged_at IS NULL",
        participant_id,
        agency_id,
    )
    return found is not None


def main() -> None:
    import asyncio

    from shared.db import create_pool
    from shared.eventstore.postgres import PostgresEventStore
    from shared.settings import load_settings
    from shared.tenancy import system_scope

    async def run() -> None:
        settings = load_settings("planning")
        pool = await create_pool(settings.dsn, min_size=1, max_size=2)
        keys = KeyRing(settings.master_keys())
        try:  # every agency's plans: a cross-agency job, in the system scope
            with system_scope():
                async with pool.acquire() as conn, conn.transaction():
                    store = PostgresEventStore(pool, sealer=EventSealer(keys))
                    print(f"rebuilt {await rebuild_current_plans(conn, store, keys)} plans")
        finally:
            await pool.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
