"""What the kernel's integration tests share."""

import pytest


@pytest.fixture
async def kernel_db(database_url):
    """A fresh database with only the kernel's tables, and ``effects`` for the tests' handlers to
    write into; fault points disarmed afterwards. (pool, dsn)"""
    from shared import faults
    from shared.testing.db import fresh_kernel_database

    pool, dsn = await fresh_kernel_database(database_url)
    await pool.execute("CREATE TABLE effects (event_id UUID NOT NULL, participant_id UUID)")
    yield pool, dsn
    faults.disarm()
    await pool.close()
