"""The alerts consumer's batch path has exactly the effects of the record-by-record path.

The same Kafka records (encoded as the other services' relays encode them) go through the kernel's
consumer on two fresh databases with the same configuration: once with the batch handler, once
without. The directory, alerts, staff inbox, delivery queue, event store, outbox and inbox must
come out the same. Time is frozen in the reactions module so both runs decide with the same now.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio
from aiokafka.structs import ConsumerRecord

from services.notifications.adapters import repository
from services.notifications.application import reactions
from services.notifications.application.reactions import batch_handler, handler
from services.notifications.domain.directory import AgencyStaff, ContactHours, ParticipantRecord, SupportContact
from services.notifications.entrypoints.app import MIGRATIONS
from services.notifications.settings import NotificationSettings
from shared.catalogue.intake import ContactWindow, ParticipantEnrolled, ParticipantTimeZoneChanged, SafetyConcernRaised
from shared.catalogue.monitoring import CheckInCompleted, CheckInMissed, MilestoneReached
from shared.cloudevents import encode, topic_for
from shared.db import create_pool, migrate_async
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.eventstore.postgres import PostgresEventStore
from shared.inbox import EventConsumer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CFG = NotificationSettings(base_url="https://waypoint.test")
NOW = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 06:30 in Los Angeles, 23:30 in Tokyo, 14:30 in London

A, B, C = "agency-a", "agency-b", "agency-c"  # C has no staff configured at all
P1, P2, P3, P4, P5, P6 = (uuid.uuid4() for _ in range(6))
CONSENTING, DECLINING = uuid.uuid4(), uuid.uuid4()
SUB_A, SUB_B = uuid.uuid4(), uuid.uuid4()

# What each table must hold the same in both runs (clock-driven columns left out: `updated_at`
# and `handled_at` come from PostgreSQL, event `occurred_at`/`recorded_at` from the kernel).
SNAPSHOT = {
    "recipient_directory": "SELECT participant_id, agency_id, specialist_id, supervisor_id, consecutive_misses,"
    " support_contacts, discharged, time_zone, preferred_hours_start, preferred_hours_end FROM recipient_directory",
    "alerts": "SELECT * FROM alerts",
    "staff_inbox": "SELECT * FROM staff_inbox",
    "deliveries": "SELECT * FROM deliveries",
    "events": "SELECT stream_id, stream_type, stream_version, event_type, schema_version, agency_id,"
    " participant_id, data, metadata FROM events",
    "outbox": "SELECT topic, record_key FROM outbox",
    "inbox": "SELECT consumer, event_id FROM inbox",
}


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), tz)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reactions, "datetime", _Frozen)


def _missed(pid: UUID, n: int) -> CheckInMissed:
    return CheckInMissed(participant_id=pid, due_at=NOW, deadline=NOW, consecutive_misses=n, detected_at=NOW)


def _completed(pid: UUID) -> CheckInCompleted:
    return CheckInCompleted(
        participant_id=pid, check_in_id=uuid.uuid4(), craving=2, mood=7, used_since_last_check_in=False,
        completed_at=NOW,
    )  # fmt: skip


def _concern(pid: UUID) -> SafetyConcernRaised:
    return SafetyConcernRaised(
        participant_id=pid, assessment_id=uuid.uuid4(), concerns=("self_harm_thoughts",), phq9_item9=2, raised_at=NOW
    )


def _milestone(pid: UUID) -> MilestoneReached:
    return MilestoneReached(
        participant_id=pid, milestone="30-days", days=30, reached_on=NOW.date(), counted_from=date(2026, 10, 27)
    )


OFFICE_HOURS = ContactWindow(start=time(9), end=time(18))

BATCH: list[tuple[DomainEvent, str]] = [
    (  # a new row, with the participant's zone and preferred contact hours
        ParticipantEnrolled(
            participant_id=P2,
            specialist_id="spec-a",
            enrolled_at=NOW,
            time_zone="America/Los_Angeles",
            preferred_hours=OFFICE_HOURS,
        ),
        A,
    ),
    (_missed(P1, 1), A),  # reminder to the participant (no preferred hours: at once)
    (  # enrolled in London, where it is 14:30: inside the preferred hours ...
        ParticipantEnrolled(
            participant_id=P6,
            specialist_id="spec-a",
            enrolled_at=NOW,
            time_zone="Europe/London",
            preferred_hours=OFFICE_HOURS,
        ),
        A,
    ),
    (  # ... then staff correct the zone to Tokyo, where it is 23:30
        ParticipantTimeZoneChanged(
            participant_id=P6, time_zone="Asia/Tokyo", previous_time_zone="Europe/London", changed_at=NOW
        ),
        A,
    ),
    (_concern(P3), B),  # another agency's specialist and supervisor
    (_missed(P1, 2), A),  # outreach to the specialist
    (_missed(P2, 1), A),  # reminder held by the hours P2 got in this very batch, until 09:00 there
    (_missed(P6, 1), A),  # reminder held by the zone P6 got in this very batch: until 09:00 in Tokyo
    (_missed(P1, 3), A),  # supervisor (urgent) and the consenting support contact
    (_completed(P1), A),  # resets the run of misses; agency A's webhook subscribes to it
    (_missed(P2, 2), A),  # outreach to the specialist P2 got in this very batch
    (_completed(P3), B),  # changes nothing: no miss to reset, B does not subscribe to it
    (_missed(P3, 1), B),  # reminder (held by P3's stored hours), and agency B's webhook (not agency A's)
    (_concern(P4), C),  # nobody to tell: a warning, nothing else
    (_milestone(P1), A),  # the participant, and agency A's webhook
    (_completed(P5), C),  # an unknown participant: a new row with the event's agency
    (_completed(P1), A),  # a second completion in a row: the record no longer changes
]


def _records(batch: list[tuple[DomainEvent, str]]) -> list[ConsumerRecord[bytes, bytes]]:
    """The batch as Kafka records, exactly as the publishing services' relays encode them."""
    records = []
    for offset, (event, agency) in enumerate(batch):
        service = type(event).service
        pid = getattr(event, "participant_id", None)
        new = NewEvent(
            stream_id=f"{service}-{pid}",
            stream_type=service,
            agency_id=agency,
            participant_id=pid,
            event=event,
            metadata=Metadata(correlation_id=str(uuid.uuid4())),
        )
        key, value, headers = encode(new, service)
        records.append(
            ConsumerRecord(
                topic=topic_for(service),
                partition=0,
                offset=offset,
                timestamp=0,
                timestamp_type=0,
                key=(key or "").encode(),
                value=value,
                checksum=None,
                serialized_key_size=0,
                serialized_value_size=len(value),
                headers=headers,
            )
        )
    return records


RECORDS = _records(BATCH)


async def _configure(conn: asyncpg.Connection) -> None:
    """The same configuration and directory in every database: staff of A and B, addresses,
    one webhook subscription per agency, and two participants known before the batch."""
    await repository.save_staff(conn, AgencyStaff(A, "sup-a", "admin-a"))
    await repository.save_staff(conn, AgencyStaff(B, "sup-b", None))
    for agency, recipient in [
        (A, "spec-a"), (A, "sup-a"), (A, str(P1)), (A, str(CONSENTING)), (A, str(P2)), (A, str(P6)), (B, "spec-b"),
        (B, "sup-b"),
    ]:  # fmt: skip
        await repository.save_preferences(conn, agency, recipient, f"{recipient}@example.test", None, None, "UTC")
    for sub, agency, types in [(SUB_A, A, ["CheckInCompleted", "MilestoneReached"]), (SUB_B, B, ["CheckInMissed"])]:
        await repository.insert_subscription(
            conn, sub, agency, f"https://{agency}.test/hook", types, "secret", None, "admin", NOW
        )
    contacts = tuple(
        sorted(
            (SupportContact(str(CONSENTING), True), SupportContact(str(DECLINING), False)),
            key=lambda c: c.support_contact_id,
        )
    )
    await repository.save_records(
        conn,
        [
            (ParticipantRecord(P1, A, "spec-a", support_contacts=contacts), A),
            (
                ParticipantRecord(
                    P3, B, "spec-b", time_zone="Asia/Tokyo", preferred_hours=ContactHours(time(9), time(18))
                ),
                B,
            ),
        ],
    )


Consumer = Callable[..., EventConsumer]


@pytest_asyncio.fixture(loop_scope="session")
async def database(fresh_database: Callable[[str], str]) -> AsyncIterator[Callable[[], Awaitable[asyncpg.Pool]]]:
    """Factory: a fresh, migrated and configured notifications database (its pool)."""
    pools: list[asyncpg.Pool] = []

    async def make() -> asyncpg.Pool:
        url = fresh_database("t_notif_batch")
        await migrate_async(url, MIGRATIONS)
        pool = await create_pool(url, min_size=1, max_size=4)
        pools.append(pool)
        async with pool.acquire() as conn:
            await _configure(conn)
        return pool

    yield make
    for pool in pools:
        await pool.close()


def _consumer(pool: asyncpg.Pool, calls: Counter[str], *, batch: bool, fail_batch: bool = False) -> EventConsumer:
    """The kernel's consumer with notifications' handlers, counting which path handled what."""
    store = PostgresEventStore(pool)
    per_event, per_batch = handler(CFG), batch_handler(store, CFG)

    async def on_event(received: Any, uow: Any) -> None:
        calls["each"] += 1
        await per_event(received, uow)

    async def on_batch(conn: asyncpg.Connection, events: list[Any]) -> None:
        calls["batch"] += len(events)
        await per_batch(conn, events)
        if fail_batch:
            raise RuntimeError("a bug found after the batch did all its work")

    return EventConsumer(
        name="alerts", service="notifications", topics=[], handler=on_event, pool=pool, store=store,
        bootstrap="127.0.0.1:1", batch_handler=on_batch if batch else None,
    )  # fmt: skip


async def _snapshot(pool: asyncpg.Pool, volatile: bool = False) -> dict[str, list[str]]:
    queries = dict(SNAPSHOT)
    if volatile:  # everything, clock-driven columns included
        queries |= {t: f"SELECT * FROM {t}" for t in ("recipient_directory", "events", "outbox", "inbox")}
    async with pool.acquire() as conn:
        return {
            table: sorted(r[0] for r in await conn.fetch(f"SELECT to_jsonb(t)::text FROM ({q}) t"))
            for table, q in queries.items()
        }


async def _record_by_record(database: Callable[[], Awaitable[asyncpg.Pool]]) -> dict[str, list[str]]:
    pool = await database()
    calls: Counter[str] = Counter()
    assert await _consumer(pool, calls, batch=False)._process(RECORDS) == []
    assert calls == {"each": len(RECORDS)}
    return await _snapshot(pool)


async def test_a_batch_has_exactly_the_effects_of_handling_its_records_one_by_one(database):
    expected = await _record_by_record(database)
    pool = await database()
    calls: Counter[str] = Counter()
    assert await _consumer(pool, calls, batch=True)._process(RECORDS) == []
    assert calls == {"batch": len(RECORDS)}, "the batch path handled the batch, no fallback"
    assert await _snapshot(pool) == expected

    # ... and those effects are the intended ones, not an agreement on nothing.
    async with pool.acquire() as conn:
        directory = {r["participant_id"]: r for r in await conn.fetch("SELECT * FROM recipient_directory")}
        deliveries = await conn.fetch(
            "SELECT participant_id, recipient_id, rule, cause_event_type, due_at FROM deliveries"
        )
        alerts = await conn.fetch("SELECT participant_id, recipient_id, rule, urgency FROM alerts")
    assert {pid: (r["agency_id"], r["specialist_id"], r["consecutive_misses"]) for pid, r in directory.items()} == {
        P1: (A, "spec-a", 0),
        P2: (A, "spec-a", 2),
        P3: (B, "spec-b", 1),
        P5: (C, None, 0),
        P6: (A, "spec-a", 1),
    }
    assert {
        pid: (r["time_zone"], r["preferred_hours_start"], r["preferred_hours_end"]) for pid, r in directory.items()
    } == {
        P1: (None, None, None),
        P2: ("America/Los_Angeles", time(9), time(18)),
        P3: ("Asia/Tokyo", time(9), time(18)),
        P5: (None, None, None),
        P6: ("Asia/Tokyo", time(9), time(18)),
    }
    reminders = {d["participant_id"]: d["due_at"] for d in deliveries if d["rule"] == "missed-check-in.reminder"}
    assert reminders == {
        P1: NOW,
        P2: datetime(2026, 11, 26, 17, tzinfo=UTC),  # 09:00 in Los Angeles
        P3: datetime(2026, 11, 27, 0, tzinfo=UTC),  # 09:00 tomorrow in Tokyo
        P6: datetime(2026, 11, 27, 0, tzinfo=UTC),  # the new zone: 09:00 tomorrow in Tokyo, not now in London
    }
    assert {(a["recipient_id"], a["rule"], a["urgency"]) for a in alerts} >= {
        ("sup-a", "missed-check-in.supervisor", "urgent"),
        ("spec-b", "safety-concern", "urgent"),
        ("sup-b", "safety-concern", "urgent"),
        ("spec-a", "missed-check-in.outreach", "routine"),
    }
    webhooks = Counter((d["recipient_id"], d["cause_event_type"]) for d in deliveries if d["rule"] == "subscription")
    assert webhooks == {
        (str(SUB_A), "CheckInCompleted"): 2,
        (str(SUB_A), "MilestoneReached"): 1,
        (str(SUB_B), "CheckInMissed"): 1,
    }
    assert ("missed-check-in.support-contact", str(CONSENTING)) in {(d["rule"], d["recipient_id"]) for d in deliveries}
    assert P4 not in {row["participant_id"] for row in [*alerts, *deliveries]}, "nobody to tell about P4"


async def test_a_redelivered_batch_changes_nothing(database):
    pool = await database()
    calls: Counter[str] = Counter()
    consumer = _consumer(pool, calls, batch=True)
    assert await consumer._process(RECORDS) == []
    before = await _snapshot(pool, volatile=True)
    assert await consumer._process(RECORDS) == []
    assert await consumer._process(list(reversed(RECORDS[:5]))) == []
    assert calls == {"batch": len(RECORDS)}, "nothing seen before reaches a handler again"
    assert await _snapshot(pool, volatile=True) == before


async def test_a_batch_that_fails_is_undone_and_redone_record_by_record_with_the_same_effects(database):
    expected = await _record_by_record(database)
    pool = await database()
    calls: Counter[str] = Counter()
    assert await _consumer(pool, calls, batch=True, fail_batch=True)._process(RECORDS) == []
    assert calls == {"batch": len(RECORDS), "each": len(RECORDS)}
    assert await _snapshot(pool) == expected
