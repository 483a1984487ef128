"""Migration 0006 on real PostgreSQL: the due date of existing rows becomes the instant at UTC
midnight (what it meant so far), under a partial index, and a downgrade gives the date back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest
from alembic import command
from alembic.config import Config

from services.monitoring.entrypoints.app import MIGRATIONS
from shared.db import ensure_database
from shared.settings import database_for

pytestmark = pytest.mark.integration


def _alembic(dsn: str, verb: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    getattr(command, verb)(cfg, revision)


async def test_existing_due_dates_become_utc_midnight_and_come_back_on_downgrade(infra):
    name = f"t_monitoring_m6_{uuid.uuid4().hex[:10]}"
    await ensure_database(infra.database_url, name)
    dsn = database_for(infra.database_url, name)
    await asyncio.to_thread(_alembic, dsn, "upgrade", "0005")
    due, none = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO monitored_participants (participant_id, agency_id, active, milestone_on)"
            " VALUES ($1, 'a', true, $2)",
            [(due, date(2026, 1, 17)), (none, None)],
        )
        await asyncio.to_thread(_alembic, dsn, "upgrade", "head")
        rows = dict(await conn.fetch("SELECT participant_id, milestone_due_at FROM monitored_participants"))
        assert rows == {due: datetime(2026, 1, 17, tzinfo=UTC), none: None}
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'monitored_participants'"
        )
        assert "milestone_on" not in {c["column_name"] for c in columns}
        index = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'monitored_milestone_due_at_idx'"
        )
        assert "WHERE (milestone_due_at IS NOT NULL)" in index

        await asyncio.to_thread(_alembic, dsn, "downgrade", "0005")
        rows = dict(await conn.fetch("SELECT participant_id, milestone_on FROM monitored_participants"))
        assert rows == {due: date(2026, 1, 17), none: None}
    finally:
        await conn.close()
