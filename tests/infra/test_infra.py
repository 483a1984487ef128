"""The test infrastructure itself: Kafka and PostgreSQL answer, and Kafka survives an outage."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.structs import RecordMetadata

from deploy import infra as infra_mod
from deploy._util import port_is_open, read_pid

pytestmark = pytest.mark.integration


async def _produce(bootstrap: str, topic: str, value: bytes) -> RecordMetadata:
    # The settings the outbox relay relies on: idempotent, acknowledged by all in-sync replicas.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        return await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, topic: str, timeout: float = 30) -> ConsumerRecord:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"infra-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout)
        await consumer.commit()  # exercises the group coordinator too
        return record
    finally:
        await consumer.stop()


def _topic() -> str:
    return f"infra-test-{uuid.uuid4().hex[:10]}"


async def test_kafka_round_trip_with_idempotent_producer_and_consumer_group(kafka_bootstrap):
    topic, value = _topic(), uuid.uuid4().bytes
    sent = await _produce(kafka_bootstrap, topic, value)
    got = await _consume_one(kafka_bootstrap, topic)
    assert (got.value, got.partition, got.offset) == (value, sent.partition, sent.offset)


async def test_postgres_answers_and_service_databases_exist(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select 1") == 1
        names = {r["datname"] for r in await conn.fetch("select datname from pg_database")}
    finally:
        await conn.close()
    assert set(infra_mod.DATABASES) <= names


async def test_fresh_database_is_empty_and_writable(fresh_database):
    url = fresh_database("t_infra")
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'") == 0
        await conn.execute("create table t (id int primary key)")
        await conn.execute("insert into t values (1)")
        assert await conn.fetchval("select id from t") == 1
    finally:
        await conn.close()
    assert fresh_database("t_infra") != url


def test_start_again_reuses_the_running_services(infra, infra_state_dir):
    again = infra_mod.start(infra_state_dir, kafka_port=_port(infra.kafka_bootstrap), pg_port=_port(infra.database_url))
    assert (again.kafka_bootstrap, again.database_url) == (infra.kafka_bootstrap, infra.database_url)
    assert again.started == frozenset()
    env_file = (infra_state_dir / "infra.env").read_text()
    assert f"KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap}\n" in env_file


@pytest.mark.infra_outage
async def test_kafka_stop_and_start_keeps_the_data(kafka_controller, kafka_bootstrap):
    topic, value = _topic(), uuid.uuid4().bytes
    sent = await _produce(kafka_bootstrap, topic, value)

    await kafka_controller.stop_kafka_async()
    assert not port_is_open(*_host_port(kafka_bootstrap))
    await kafka_controller.start_kafka_async()

    got = await _consume_one(kafka_bootstrap, topic)
    assert (got.value, got.partition, got.offset) == (value, sent.partition, sent.offset)


@pytest.mark.infra_outage
def test_stopping_kafka_leaves_no_stray_process(infra, infra_state_dir, kafka_controller):
    pid = read_pid(infra_state_dir / "kafka" / "kafka.pid")
    if infra.kafka_source == infra_mod.NATIVE:
        assert pid and psutil.pid_exists(pid)

    kafka_controller.stop_kafka()

    host, port = _host_port(infra.kafka_bootstrap)
    assert not port_is_open(host, port)
    if infra.kafka_source == infra_mod.NATIVE:
        assert not port_is_open(host, port + 1), "controller port still open"
        assert not (infra_state_dir / "kafka" / "kafka.pid").exists()
        marker = str(infra_state_dir / "kafka")
        strays = [
            p.pid
            for p in psutil.process_iter(["cmdline", "status"])
            if p.info["status"] != psutil.STATUS_ZOMBIE and any(marker in a for a in p.info["cmdline"] or [])
        ]
        assert strays == [], f"Kafka processes left behind: {strays}"

    kafka_controller.start_kafka()
    assert port_is_open(host, port)


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.split(",")[0].rsplit(":", 1)
    return host, int(port)


def _port(url_or_address: str) -> int:
    return int(url_or_address.rsplit(":", 1)[1].split("/")[0])
