"""One contract for every inbox: run against the in-memory and the PostgreSQL inbox."""

from uuid import uuid4

import pytest

from shared.inbox_table import PostgresInbox
from shared.memory import InMemoryInbox
from shared.testing.db import fresh_kernel_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
async def inbox(request):
    if request.param == "memory":
        yield InMemoryInbox()
        return
    database_url = request.getfixturevalue("database_url")
    pool, _ = await fresh_kernel_database(database_url, "t_inbox")
    yield PostgresInbox(pool)
    await pool.close()


async def test_an_event_is_new_the_first_time_only(inbox):
    event_id = uuid4()
    assert await inbox.record("plans", [event_id]) == {event_id}
    assert await inbox.record("plans", [event_id]) == set()


async def test_consumers_keep_separate_inboxes(inbox):
    event_id = uuid4()
    await inbox.record("plans", [event_id])
    assert await inbox.record("timeline", [event_id]) == {event_id}


async def test_a_batch_returns_only_the_ids_not_seen_before(inbox):
    seen, new = uuid4(), uuid4()
    await inbox.record("plans", [seen])
    assert await inbox.record("plans", [seen, new]) == {new}


async def test_an_id_twice_in_one_batch_counts_once(inbox):
    event_id = uuid4()
    assert await inbox.record("plans", [event_id, event_id]) == {event_id}
    assert await inbox.record("plans", [event_id]) == set()


async def test_an_empty_batch_records_nothing(inbox):
    assert await inbox.record("plans", []) == set()
