"""Kafka with SASL/SCRAM-SHA-512 and ACLs on a native broker of its own, and the per-agency
topics filled by the copier, read by an independent aiokafka SASL client."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from deploy import kafka_security as sec
from shared.agency_copier import AgencyCopier, agency_topic
from shared.cloudevents import topic_for
from shared.testing.services import running_service

from .feed_support import AGENCY_A, AGENCY_B, Publisher, example_process, json_lines_until, sample, sasl

pytestmark = [pytest.mark.integration]
async def read_all(bootstrap: str, topic: str, options: dict, count: int, group: str | None = None) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, isolation_level="read_committed", **options)
    await consumer.start()
    found: list = []
    try:
        async with asyncio.timeout(60):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(records)
        extra = await consumer.getmany(timeout_ms=1500)  # anything beyond what we expect is a failure
        found.extend(r for records in extra.values() for r in records)
    finally:
        await consumer.stop()
    return found


async def refused(bootstrap: str, topic: str, options: dict) -> KafkaError | None:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, **options)
    try:
        await consumer.start()
        async with asyncio.timeout(30):
            while True:
                await consumer.getmany(timeout_ms=500)
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError) as exc:
        return exc
    finally:
        await consumer.stop()


async def test_service_principals_write_only_their_own_topic(sasl_broker, principals):
    bootstrap = f"127.0.0.1:{sasl_broker.sasl_port}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                **sasl("svc-intake", principals["svc-intake"]))
    await producer.start()
    try:
        await producer.send_and_wait(topic_for("intake"), b"{}", key=b"k")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic_for("planning"), b"{}", key=b"k")
    finally:
        await producer.stop()
    assert isinstance(await refused(bootstrap, topic_for("planning"), sasl("svc-intake", principals["svc-intake"])),
                      TopicAuthorizationFailedError)  # intake consumes nothing


async def test_a_wrong_password_is_refused(sasl_broker, principals):
    bad = AIOKafkaConsumer(topic_for("intake"), bootstrap_servers=f"127.0.0.1:{sasl_broker.sasl_port}",
                           **sasl(sec.integrator(AGENCY_A), "not-the-password"))
    with pytest.raises((KafkaError, KafkaConnectionError)):
        await bad.start()
    await bad.stop()


async def test_an_agency_integrator_reads_its_agency_topic_only_in_order_and_once(sasl_broker, principals):
    people = [uuid.uuid4() for _ in range(3)]
    sent: dict[str, list[str]] = {AGENCY_A: [], AGENCY_B: []}
    async with Publisher(sasl_broker.bootstrap) as relay:  # the services' relays, on the local listener
        for day in range(1, 9):
            for i, pid in enumerate(people):
                agency = AGENCY_A if i < 2 else AGENCY_B
                event = sample("MilestoneReached", participant_id=str(pid), days=day)
                sent[agency].append(str(await relay.publish(event, agency_id=agency, participant_id=pid)))
    sasl_bootstrap = f"127.0.0.1:{sasl_broker.sasl_port}"
    copier = AgencyCopier(sasl_bootstrap, partitions=3, client_options=sasl(sec.COPIER, principals[sec.COPIER]))
    task = asyncio.create_task(copier.run())
    try:
        total = len(sent[AGENCY_A]) + len(sent[AGENCY_B])
        async with asyncio.timeout(60):  # the integrator's topic exists once the copier got there
            while copier.copied < total:
                await asyncio.sleep(0.1)
        a = sasl(sec.integrator(AGENCY_A), principals[sec.integrator(AGENCY_A)])
        records = await read_all(sasl_bootstrap, agency_topic(AGENCY_A), a, len(sent[AGENCY_A]),
                                 group=f"{sec.integrator(AGENCY_A)}.example")
        ids = [dict(r.headers)["ce_id"].decode() for r in records]
        assert sorted(ids) == sorted(sent[AGENCY_A]) and len(ids) == len(set(ids))  # all of A's, once, none of B's
        for pid in people[:2]:  # per participant, in the order published
            mine = [r for r in records if r.key == str(pid).encode()]
            assert [dict(r.headers)["ce_id"].decode() for r in mine] == [e for e in sent[AGENCY_A]
                                                                        if e in {dict(x.headers)["ce_id"].decode()
                                                                                 for x in mine}]
            assert [int(r.value.split(b'"days":')[1].split(b",")[0]) for r in mine] == list(range(1, 9))
        # a restarted copier (new instance, same transactional id) copies nothing twice
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with Publisher(sasl_broker.bootstrap) as relay:
            late = str(await relay.publish(sample("MilestoneReached", participant_id=str(people[0]), days=9),
                                           agency_id=AGENCY_A, participant_id=people[0]))
        copier = AgencyCopier(sasl_bootstrap, partitions=3, client_options=sasl(sec.COPIER, principals[sec.COPIER]))
        task = asyncio.create_task(copier.run())
        again = await read_all(sasl_bootstrap, agency_topic(AGENCY_A), a, len(sent[AGENCY_A]) + 1)
        again_ids = [dict(r.headers)["ce_id"].decode() for r in again]
        assert sorted(again_ids) == sorted([*sent[AGENCY_A], late]) and len(again_ids) == len(set(again_ids))
        # agency A's principal: refused on B's topic and on every service topic
        assert isinstance(await refused(sasl_bootstrap, agency_topic(AGENCY_B), a), TopicAuthorizationFailedError)
        for service in ("intake", "monitoring"):
            assert isinstance(await refused(sasl_bootstrap, topic_for(service), a), TopicAuthorizationFailedError)
        # and B's principal reads B's events only
        b = sasl(sec.integrator(AGENCY_B), principals[sec.integrator(AGENCY_B)])
        theirs = await read_all(sasl_bootstrap, agency_topic(AGENCY_B), b, len(sent[AGENCY_B]))
        assert sorted(dict(r.headers)["ce_id"].decode() for r in theirs) == sorted(sent[AGENCY_B])
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_example_consumer_reads_its_agency_topic_over_sasl(sasl_broker, principals):
    pid = uuid.uuid4()
    async with Publisher(sasl_broker.bootstrap) as relay:
        ours = [str(await relay.publish(sample("MilestoneReached", participant_id=str(pid), days=d),
                                        agency_id=AGENCY_A, participant_id=pid)) for d in (1, 7, 30)]
    sasl_bootstrap = f"127.0.0.1:{sasl_broker.sasl_port}"
    copier = AgencyCopier(sasl_bootstrap, partitions=3, client_options=sasl(sec.COPIER, principals[sec.COPIER]))
    task = asyncio.create_task(copier.run())
    user = sec.integrator(AGENCY_A)
    env = {"WAYPOINT_KAFKA_BOOTSTRAP": sasl_bootstrap, "WAYPOINT_KAFKA_USERNAME": user,
           "WAYPOINT_KAFKA_PASSWORD": principals[user], "WAYPOINT_AGENCY": AGENCY_A}
    try:
        async with example_process("agency_consumer.py", env) as consumer:
            lines = await json_lines_until(consumer, lambda got: set(ours) <= {e["id"] for e in got})
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    mine = [e for e in lines if e["id"] in ours]
    assert [e["id"] for e in mine] == ours  # one participant's events, in order, once
    assert all(e["agencyid"] == AGENCY_A and e["type"] == "waypoint.monitoring.MilestoneReached.v1"
               and e["specversion"] == "1.0" for e in lines)
    assert [e["data"]["days"] for e in mine] == [1, 7, 30]


async def test_notifications_runs_the_copier_as_its_own_principal(sasl_broker, principals, database_url,
                                                                  monkeypatch):
    """The wiring `waypoint up` uses (deploy.kafka_security.service_env): notifications on the SASL
    listener as svc-notifications, its agency copier as agency-copier; an agency's integrator then
    reads the new events."""
    sasl_bootstrap = f"127.0.0.1:{sasl_broker.sasl_port}"
    env = sec.service_env("notifications", sasl_bootstrap, principals)
    for name, value in env.items():
        if name.startswith("NOTIFICATIONS_"):
            monkeypatch.setenv(name, value)
    pid = uuid.uuid4()
    async with running_service("notifications", kafka_bootstrap=sasl_bootstrap, database_url=database_url,
                               kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username=env["KAFKA_SASL_USERNAME"],
                               kafka_sasl_password=env["KAFKA_SASL_PASSWORD"]):
        async with Publisher(sasl_broker.bootstrap) as relay:
            ours = {str(await relay.publish(sample("MilestoneReached", participant_id=str(pid), days=d),
                                            agency_id=AGENCY_B, participant_id=pid)) for d in (60, 90)}
        b = sasl(sec.integrator(AGENCY_B), principals[sec.integrator(AGENCY_B)])
        consumer = AIOKafkaConsumer(agency_topic(AGENCY_B), bootstrap_servers=sasl_bootstrap, group_id=None,
                                    auto_offset_reset="earliest", isolation_level="read_committed", **b)
        await consumer.start()
        seen: set[str] = set()
        try:
            async with asyncio.timeout(60):
                while not ours <= seen:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        seen.update(dict(r.headers)["ce_id"].decode() for r in records)
        finally:
            await consumer.stop()
