"""Dead letters: list, show and redrive the records a service's consumers set aside.

A consumer sends a record it can never apply to ``waypoint.<service>.dlq`` with the reason and its
origin in headers (``dlq_reason``, ``dlq_consumer``, ``dlq_original_topic`` / ``_partition`` /
``_offset``, ``dlq_failed_at``; see :mod:`shared.inbox`). A record is named by
``<service>:<partition>:<offset>`` on that topic.

Redriving sends the record back to its original topic, with its original key and headers and a
``waypoint_redrive_for`` header naming the consumer group that failed it: only that group handles
it (the others handled it the first time and skip it), and its inbox applies it at most once, so
redriving the same record twice changes nothing. ``redrive --all`` sends every record after the
redrive group's committed offset (``waypoint.<service>.dlq-redrive``) and then moves that offset to
the end: the DLQ depth figure counts the records after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from shared.inbox import REDRIVE_HEADER, dlq_topic
from shared.operations import dlq_redrive_group
from shared.outbox import producer_for


@dataclass(frozen=True)
class DeadLetter:
    """One record on a dead-letter topic."""

    service: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(repr=False)
    redriven: bool = False

    @property
    def id(self) -> str:
        return f"{self.service}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace")
        return None

    @property
    def reason(self) -> str:
        return self.header("dlq_reason") or "(no reason recorded)"

    @property
    def consumer(self) -> str | None:
        return self.header("dlq_consumer")

    @property
    def event_type(self) -> str | None:
        return self.header("ce_type")

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")

    def summary(self) -> dict[str, Any]:
        """What ``dlq list`` shows (no payload)."""
        return {
            "id": self.id,
            "consumer": self.consumer,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "origin": f"{self.header('dlq_original_topic')}:{self.header('dlq_original_partition')}:"
                      f"{self.header('dlq_original_offset')}",
            "failed_at": self.header("dlq_failed_at"),
            "reason": self.reason,
            "redriven": self.redriven,
        }


def parse_id(record_id: str) -> tuple[str, int, int]:
    """``service:partition:offset`` -> its parts (ValueError with a clear message otherwise)."""
    parts = record_id.split(":")
    if len(parts) != 3 or not parts[0].isidentifier() or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError(f"{record_id!r} is not a dead-letter id (service:partition:offset, e.g. monitoring:0:12)")
    return parts[0], int(parts[1]), int(parts[2])


@contextlib.asynccontextmanager
async def _reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    cluster = await consumer._client.fetch_all_metadata()  # no public call for unsubscribed topics
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


async def _redriven_up_to(bootstrap: str, service: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(dlq_redrive_group(service))
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def read(bootstrap: str, service: str, *, only: tuple[int, int] | None = None) -> list[DeadLetter]:
    """The records on ``service``'s dead-letter topic (or only the one at ``(partition, offset)``)."""
    topic = dlq_topic(service)
    done = await _redriven_up_to(bootstrap, service)
    letters: list[DeadLetter] = []
    async with _reader(bootstrap) as consumer:
        partitions = await _partitions(consumer, topic)
        if only is not None:
            partitions = [tp for tp in partitions if tp.partition == only[0]]
        if not partitions:
            return []
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        start = await consumer.beginning_offsets(partitions)
        remaining = set()
        for tp in partitions:
            first = start[tp]
            if only is not None:
                if not start[tp] <= only[1] < end[tp]:
                    continue
                first = only[1]
            if first < end[tp]:
                consumer.seek(tp, first)
                remaining.add(tp)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= end[tp] or (only is not None and record.offset != only[1]):
                        continue
                    letters.append(_letter(service, record, done))
            for tp in list(remaining):
                position = await consumer.position(tp)
                if position >= end[tp] or (only is not None and position > only[1]):
                    remaining.discard(tp)
    return sorted(letters, key=lambda d: (d.partition, d.offset))


def _letter(service: str, record: ConsumerRecord, done: dict[int, int]) -> DeadLetter:
    return DeadLetter(
        service=service, partition=record.partition, offset=record.offset, key=record.key, value=record.value,
        headers=list(record.headers or ()), redriven=record.offset < done.get(record.partition, 0),
    )


async def show(bootstrap: str, record_id: str) -> DeadLetter | None:
    """The dead letter named ``record_id``, or None."""
    service, partition, offset = parse_id(record_id)
    found = await read(bootstrap, service, only=(partition, offset))
    return found[0] if found else None


def redrive_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The record's original headers (no ``dlq_*``, no earlier redrive mark) plus the group it is for."""
    kept = [(k, v) for k, v in letter.headers if not k.startswith("dlq_") and k != REDRIVE_HEADER]
    return kept + [(REDRIVE_HEADER, (letter.consumer or "").encode()), ("waypoint_redriven_from", letter.id.encode())]


async def redrive(bootstrap: str, letters: Sequence[DeadLetter]) -> int:
    """Send ``letters`` back to their original topics for the consumers that failed them."""
    producer = producer_for(bootstrap)
    await producer.start()
    try:
        sent = 0
        for letter in letters:
            topic = letter.header("dlq_original_topic")
            if not topic or not letter.consumer:
                raise ValueError(f"{letter.id} has no dlq_original_topic/dlq_consumer header: cannot redrive it")
            await (await producer.send(topic, letter.value, key=letter.key, headers=redrive_headers(letter)))
            sent += 1
        return sent
    finally:
        await producer.stop()


async def redrive_all(bootstrap: str, service: str, consumer: str | None = None) -> list[DeadLetter]:
    """Redrive every record not redriven yet (only those of ``consumer``'s group when given), then
    mark the topic redriven up to its end."""
    letters = [d for d in await read(bootstrap, service) if not d.redriven]
    chosen = [d for d in letters if consumer is None or d.consumer == consumer]
    await redrive(bootstrap, chosen)
    if consumer is None and letters:
        ends: dict[int, int] = {}
        for d in letters:
            ends[d.partition] = max(ends.get(d.partition, 0), d.offset + 1)
        await _mark_redriven(bootstrap, service, ends)
    return chosen


async def _mark_redriven(bootstrap: str, service: str, ends: dict[int, int]) -> None:
    topic = dlq_topic(service)
    marker = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=dlq_redrive_group(service),
                              enable_auto_commit=False)
    await marker.start()
    try:
        partitions = [TopicPartition(topic, p) for p in ends]
        marker.assign(partitions)
        await marker.commit({tp: OffsetAndMetadata(ends[tp.partition], "") for tp in partitions})
    finally:
        await marker.stop()
