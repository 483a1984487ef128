"""Per-agency topics: every published event of an agency, copied from the service topics to
``waypoint.agency.<agency_id>.v1``, so an agency's integrator can be allowed to read exactly
its own agency's events (Kafka ACLs work per topic, not per record).

Exactly once in effect: each batch is copied inside a Kafka transaction that also commits the
consumed offsets (consume-transform-produce), so a crash either publishes the batch and moves
the offsets, or does neither; readers use ``isolation_level=read_committed``. Order per
participant: the record key (participant id) is kept and one input partition is copied in
order, so a participant's events keep their order on the agency topic. One copier is active at
a time (a stable transactional id: a second instance fences the first, which then backs off).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import ProducerFenced, TopicAlreadyExistsError

from shared.cloudevents import topic_for
from shared.events import SERVICES

log = structlog.get_logger(__name__)

GROUP = "waypoint.agency-copier"
TRANSACTIONAL_ID = "waypoint.agency-copier"


def agency_topic(agency_id: str) -> str:
    """The topic of one agency's events."""
    return f"waypoint.agency.{agency_id}.v1"


def _agency_of(headers: Iterable[tuple[str, bytes]]) -> str | None:
    for key, value in headers or ():
        if key == "ce_agencyid":
            try:
                agency = value.decode()
            except UnicodeDecodeError:
                return None
            # a topic name allows [a-zA-Z0-9._-]: anything else cannot have an agency topic
            return agency if agency and all(c.isalnum() or c in "._-" for c in agency) else None
    return None


class AgencyCopier:
    """Copies the service topics into per-agency topics, transactionally."""

    def __init__(self, bootstrap: str, *, partitions: int = 6, replication_factor: int = 1,
                 retention_ms: int = -1, client_options: dict[str, Any] | None = None,
                 topics: Iterable[str] | None = None, batch_size: int = 500) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.retention_ms = retention_ms
        self.options = client_options or {}
        self.topics = list(topics or [topic_for(s) for s in SERVICES])
        self.batch_size = batch_size
        self.copied = 0
        self._known: set[str] = set()
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Copy until cancelled; restart after failures (fenced, broker away) with backoff."""
        backoff = 0.5
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except ProducerFenced:
                log.warning("agency copier fenced by another instance; backing off", retry_in=5)
                await asyncio.sleep(5)
            except Exception as exc:
                log.warning("agency copier interrupted", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def _run_once(self) -> None:
        consumer = AIOKafkaConsumer(*self.topics, bootstrap_servers=self.bootstrap, group_id=GROUP,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    isolation_level="read_committed", **self.options)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, transactional_id=TRANSACTIONAL_ID,
                                    enable_idempotence=True, acks="all", **self.options)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.options)
        await admin.start()
        await producer.start()
        try:
            await consumer.start()
            try:
                self.started.set()
                while True:
                    batch = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                    if batch:
                        await self._copy(batch, producer, admin)
            finally:
                await consumer.stop()
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()
            with contextlib.suppress(Exception):
                await admin.close()

    async def _copy(self, batch: dict[Any, list[Any]], producer: AIOKafkaProducer, admin: AIOKafkaAdminClient) -> None:
        targets = {a for records in batch.values() for r in records if (a := _agency_of(r.headers))}
        await self._ensure_topics(admin, targets)
        async with producer.transaction():
            for records in batch.values():
                for record in records:
                    agency = _agency_of(record.headers)
                    if agency is None:
                        continue  # not an event of any agency: nothing to copy
                    await producer.send(agency_topic(agency), record.value, key=record.key,
                                        headers=list(record.headers or ()))
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            await producer.send_offsets_to_transaction(offsets, GROUP)
        self.copied += sum(len(r) for r in batch.values())

    async def _ensure_topics(self, admin: AIOKafkaAdminClient, agencies: set[str]) -> None:
        missing = [agency_topic(a) for a in agencies if agency_topic(a) not in self._known]
        if not missing:
            return
        existing = set(await admin.list_topics())
        config = {"retention.ms": str(self.retention_ms)}
        create = [NewTopic(t, self.partitions, self.replication_factor, topic_configs=config)
                  for t in missing if t not in existing]
        if create:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(create)
        self._known.update(missing)
