"""Fresh PostgreSQL databases with the kernel tables, for store, outbox and inbox tests."""

from __future__ import annotations

import uuid

import asyncpg

from shared.db import create_pool, ensure_database
from shared.schema import KERNEL_DDL, KERNEL_FAULT_DDL
from shared.settings import database_for


async def fresh_kernel_database(database_url: str, prefix: str = "t_kernel") -> tuple[asyncpg.Pool, str]:
    """A new database holding only the kernel tables: returns (pool, dsn)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await ensure_database(database_url, name)
    dsn = database_for(database_url, name)
    conn = await asyncpg.connect(dsn)
    try:
        for statement in KERNEL_DDL + KERNEL_FAULT_DDL:
            await conn.execute(statement)
    finally:
        await conn.close()
    return await create_pool(dsn, min_size=1, max_size=40), dsn
