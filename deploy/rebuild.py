"""Read-model rebuilds an operator can run (``waypoint rebuild SERVICE [READ_MODEL]``).

Each rebuild empties its read model and refills it in one transaction, so readers never see it
half done, and reports ``progress(done, total)`` as it goes:

- monitoring ``read-models``: timeline, caseload, open alerts and daily counts, from the four
  topics (Kafka), by :func:`services.monitoring.projections.rebuild.rebuild`;
- planning ``plans``: the current plan of each participant, from the plan streams in planning's
  event store, by :func:`services.planning.projections.current_plan.rebuild_current_plans`.

Intake and notifications keep no read model that is rebuilt: their tables are written in the
same transaction as their events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReadModel:
    service: str
    name: str
    what: str
    unit: str
    run: Callable[[asyncpg.Pool, str, Progress], Awaitable[dict[str, Any]]]


async def _monitoring(pool: asyncpg.Pool, bootstrap: str, progress: Progress) -> dict[str, Any]:
    from services.monitoring.projections.rebuild import rebuild

    return await rebuild(pool, bootstrap, progress)


async def _planning(pool: asyncpg.Pool, bootstrap: str, progress: Progress) -> dict[str, Any]:
    from services.planning.projections.current_plan import rebuild_current_plans
    from shared.eventstore.postgres import PostgresEventStore
    from shared.keyring import EventSealer, KeyRing
    from shared.settings import load_settings

    keys = KeyRing(load_settings("planning").master_keys())  # plan content is sealed under data keys
    async with pool.acquire() as conn, conn.transaction():
        store = PostgresEventStore(pool, sealer=EventSealer(keys))
        return {"plans": await rebuild_current_plans(conn, store, keys, progress)}


READ_MODELS: dict[str, dict[str, ReadModel]] = {
    "monitoring": {
        "read-models": ReadModel("monitoring", "read-models", "timeline, caseload, open alerts, daily counts "
                                 "(from the four topics)", "events", _monitoring),
    },
    "planning": {
        "plans": ReadModel("planning", "plans", "current plans (from planning's event store)", "streams", _planning),
    },
}


def resolve(service: str, name: str | None) -> list[ReadModel]:
    """The read models ``waypoint rebuild service [name]`` means (ValueError with the choices otherwise)."""
    if service not in READ_MODELS:
        known = ", ".join(sorted(READ_MODELS))
        raise ValueError(f"{service!r} has no rebuildable read model (services with one: {known})")
    models = READ_MODELS[service]
    if name is None:
        return list(models.values())
    if name not in models:
        raise ValueError(f"{service} has no read model {name!r} (choose from: {', '.join(sorted(models))})")
    return [models[name]]
