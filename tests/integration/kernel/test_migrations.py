"""Service start-up migrations on real PostgreSQL."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from shared.db import ensure_database, migrate_async
from shared.settings import database_for

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[3] / "services"


@pytest.mark.parametrize("service", ["intake", "planning", "monitoring", "notifications"])
async def test_replicas_starting_together_migrate_once_without_racing(database_url, service):
    name = f"t_mig_{service}_{uuid.uuid4().hex[:8]}"
    await ensure_database(database_url, name)
    dsn = database_for(database_url, name)
    await asyncio.gather(*(migrate_async(dsn, SERVICES / service / "migrations") for _ in range(3)))
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        head = await conn.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    assert {"events", "outbox", "inbox", "projection_checkpoints"} <= tables
    assert head is not None
