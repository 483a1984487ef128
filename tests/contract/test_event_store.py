"""One contract for every event store: run against the in-memory and the PostgreSQL store."""

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from asyncpg import UniqueViolationError

import shared.catalogue  # noqa: F401
from shared.catalogue.intake import ParticipantEnrolled
from shared.envelope import Metadata, NewEvent
from shared.eventstore import ConcurrencyError, InMemoryEventStore, PostgresEventStore
from shared.testing.db import fresh_kernel_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
async def store(request):
    if request.param == "memory":
        yield InMemoryEventStore()
        return
    database_url = request.getfixturevalue("database_url")
    pool, _ = await fresh_kernel_database(database_url, "t_store")
    yield PostgresEventStore(pool)
    await pool.close()


def _events(stream_id: str, n: int, participant=None, agency: str = "agency-a") -> list[NewEvent]:
    pid = participant or uuid4()
    return [
        NewEvent(
            stream_id=stream_id, stream_type="participant", agency_id=agency, participant_id=pid,
            event=ParticipantEnrolled(participant_id=pid, specialist_id=f"s-{i}", enrolled_at=datetime.now(UTC)),
            metadata=Metadata(correlation_id="c", causation_id=None, actor="tester"),
        )
        for i in range(n)
    ]


async def test_appended_events_read_back_in_version_order(store):
    stream = f"s-{uuid4()}"
    written = _events(stream, 3)
    stored = await store.append(written, expected_version=0)
    assert [e.stream_version for e in stored] == [1, 2, 3]
    read = await store.read_stream(stream)
    assert [e.event_id for e in read] == [e.event_id for e in written]
    assert [e.event for e in read] == [e.event for e in written]
    assert read[0].metadata == Metadata(correlation_id="c", causation_id=None, actor="tester")


async def test_appending_continues_from_the_expected_version(store):
    stream = f"s-{uuid4()}"
    await store.append(_events(stream, 2), expected_version=0)
    stored = await store.append(_events(stream, 1), expected_version=2)
    assert stored[0].stream_version == 3


@pytest.mark.parametrize("stale", [0, 1, 3])
async def test_a_wrong_expected_version_raises_concurrency_error_and_writes_nothing(store, stale):
    stream = f"s-{uuid4()}"
    await store.append(_events(stream, 2), expected_version=0)
    with pytest.raises(ConcurrencyError):
        await store.append(_events(stream, 2), expected_version=stale)
    assert len(await store.read_stream(stream)) == 2


async def test_two_concurrent_appends_to_one_stream_exactly_one_wins(store):
    stream = f"s-{uuid4()}"
    await store.append(_events(stream, 1), expected_version=0)
    results = await asyncio.gather(
        *(store.append(_events(stream, 1), expected_version=1) for _ in range(8)), return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1
    assert len(losses) == 7 and all(isinstance(r, ConcurrencyError) for r in losses)
    assert [e.stream_version for e in await store.read_stream(stream)] == [1, 2]


async def test_reading_a_version_range_supports_time_travel(store):
    stream = f"s-{uuid4()}"
    await store.append(_events(stream, 5), expected_version=0)
    assert [e.stream_version for e in await store.read_stream(stream, to_version=2)] == [1, 2]
    assert [e.stream_version for e in await store.read_stream(stream, from_version=4)] == [4, 5]


async def test_read_all_returns_every_stream_in_global_order(store):
    a, b = f"a-{uuid4()}", f"b-{uuid4()}"
    first = await store.append(_events(a, 2), expected_version=0)
    second = await store.append(_events(b, 1), expected_version=0)
    everything = await store.read_all(after_position=first[0].global_position - 1, limit=10)
    mine = [e.event_id for e in everything if e.stream_id in (a, b)]
    assert mine == [e.event_id for e in first + second]
    positions = [e.global_position for e in everything]
    assert positions == sorted(positions)


async def test_a_participant_s_events_are_found_across_streams(store):
    pid = uuid4()
    await store.append(_events(f"x-{uuid4()}", 1, participant=pid), expected_version=0)
    await store.append(_events(f"y-{uuid4()}", 2, participant=pid), expected_version=0)
    await store.append(_events(f"z-{uuid4()}", 1), expected_version=0)
    assert len(await store.read_participant(pid)) == 3


async def test_an_event_id_is_stored_only_once(store):
    stream = f"s-{uuid4()}"
    events = _events(stream, 1)
    await store.append(events, expected_version=0)
    with pytest.raises(ValueError if isinstance(store, InMemoryEventStore) else UniqueViolationError):
        await store.append([NewEvent(**{**events[0].__dict__, "stream_id": f"o-{uuid4()}"})], expected_version=0)


async def test_appending_to_two_streams_at_once_is_refused(store):
    with pytest.raises(ValueError):
        await store.append(_events("a", 1) + _events("b", 1), expected_version=0)


async def test_several_streams_append_together_or_not_at_all(store):
    a, b, fresh = f"a-{uuid4()}", f"b-{uuid4()}", f"c-{uuid4()}"
    await store.append(_events(a, 1), expected_version=0)
    await store.append(_events(b, 2), expected_version=0)
    await store.append_streams([(_events(a, 2), 1), (_events(b, 1), 2), (_events(fresh, 1), 0)])
    assert [len(await store.read_stream(s)) for s in (a, b, fresh)] == [3, 3, 1]

    with pytest.raises(ConcurrencyError):  # b moved on: nothing of the batch is written
        await store.append_streams([(_events(a, 1), 3), (_events(b, 1), 2)])
    with pytest.raises(ConcurrencyError):  # a never reached version 9
        await store.append_streams([(_events(a, 1), 9), (_events(fresh, 1), 1)])
    assert [len(await store.read_stream(s)) for s in (a, b, fresh)] == [3, 3, 1]


async def test_several_streams_read_at_once_from_their_own_versions(store):
    a, b, empty = f"s-{uuid4()}", f"s-{uuid4()}", f"s-{uuid4()}"
    written_a = _events(a, 3)
    await store.append(written_a, expected_version=0)
    await store.append(_events(b, 1), expected_version=0)
    found = await store.read_streams({a: 1, b: 1, empty: 0})
    assert [e.event_id for e in found[a]] == [e.event_id for e in written_a[1:]]
    assert [e.stream_version for e in found[a]] == [2, 3]
    assert found[b] == [] and found[empty] == []
