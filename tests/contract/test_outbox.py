"""One contract for every outbox: run against the in-memory and the PostgreSQL outbox."""

from datetime import UTC, datetime
from uuid import uuid4

import orjson
import pytest

import shared.catalogue  # noqa: F401
from shared.catalogue.intake import ParticipantEnrolled
from shared.cloudevents import decode, topic_for
from shared.envelope import Metadata, NewEvent
from shared.memory import InMemoryOutbox
from shared.testing.db import fresh_kernel_database
from shared.uow import PostgresOutbox

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
async def outbox(request):
    if request.param == "memory":
        yield InMemoryOutbox("intake")
        return
    database_url = request.getfixturevalue("database_url")
    pool, _ = await fresh_kernel_database(database_url, "t_outbox")
    yield PostgresOutbox(pool, "intake")
    await pool.close()


def enrolled(n: int, agency: str = "agency-a") -> list[NewEvent]:
    events = []
    for i in range(n):
        pid = uuid4()
        events.append(NewEvent(
            stream_id=f"participant-{pid}", stream_type="participant", agency_id=agency, participant_id=pid,
            event=ParticipantEnrolled(participant_id=pid, specialist_id=f"s-{i}", enrolled_at=datetime.now(UTC)),
            metadata=Metadata(correlation_id=f"c-{i}", actor="tester"),
        ))
    return events


async def test_records_come_back_in_the_order_they_were_added(outbox):
    first, second = enrolled(3), enrolled(2)
    await outbox.add(first)
    await outbox.add(second)
    pending = await outbox.pending(10)
    ids = [decode(r.topic, 0, 0, r.value, r.headers).event_id for r in pending]
    assert ids == [e.event_id for e in first + second]
    assert [r.id for r in pending] == sorted(r.id for r in pending)


async def test_a_record_is_the_cloudevent_on_the_services_topic_keyed_by_participant(outbox):
    [event] = enrolled(1)
    await outbox.add([event])
    [record] = await outbox.pending(10)
    assert record.topic == topic_for("intake")
    assert record.key == str(event.participant_id)
    received = decode(record.topic, 0, 0, record.value, record.headers)
    assert received.event == event.event
    assert received.agency_id == "agency-a"
    assert received.correlation_id == "c-0"
    assert orjson.loads(record.value)["participant_id"] == str(event.participant_id)


async def test_pending_returns_at_most_the_limit_oldest_first(outbox):
    events = enrolled(5)
    await outbox.add(events)
    pending = await outbox.pending(2)
    assert [decode(r.topic, 0, 0, r.value, r.headers).event_id for r in pending] == [e.event_id for e in events[:2]]


async def test_removed_records_are_not_sent_again_and_the_rest_wait(outbox):
    events = enrolled(4)
    await outbox.add(events)
    sent = await outbox.pending(2)
    await outbox.remove([r.id for r in sent])
    left = await outbox.pending(10)
    assert [decode(r.topic, 0, 0, r.value, r.headers).event_id for r in left] == [e.event_id for e in events[2:]]


async def test_adding_nothing_changes_nothing(outbox):
    await outbox.add([])
    assert await outbox.pending(10) == []
