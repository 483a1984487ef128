"""Kafka probes for tests: read what was published, publish raw records, wait for conditions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

T = TypeVar("T")


async def collect(
    bootstrap: str, topic: str, predicate: Callable[[ConsumerRecord], bool], *, count: int = 1,
    timeout: float = 20.0,
) -> list[ConsumerRecord]:
    """Records of ``topic`` (from the beginning) matching ``predicate``; waits for ``count`` of them
    and then a short grace period, so that unexpected extra records are caught too."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex}", auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    grace_until: float | None = None
    try:
        while time.monotonic() < deadline and (grace_until is None or time.monotonic() < grace_until):
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(r for r in records if predicate(r))
            if len(found) >= count and grace_until is None:
                grace_until = time.monotonic() + 1.0
    finally:
        await consumer.stop()
    return found


def header(record: ConsumerRecord, name: str) -> str | None:
    """A record header as text (None if absent)."""
    for key, value in record.headers or ():
        if key == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


async def produce_raw(
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Publish one raw record (to inject duplicates or poison)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, interval: float = 0.1,
                     message: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)


def headers_dict(record: ConsumerRecord) -> dict[str, Any]:
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (record.headers or ())}
