"""The four service processes on the SASL listener, each as its own principal (the environment
`waypoint up` gives them: deploy.kafka_security.service_env), against a broker that enforces the
ACLs: a check-in travels from monitoring to the services that consume it, and a service's
principal is refused what its ACLs do not allow."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAuthorizationFailedError

from deploy import kafka_security as sec
from deploy.services import start_services, stop_services
from shared.cloudevents import topic_for
from shared.db import ensure_database
from shared.outbox import producer_for
from shared.settings import ServiceSettings, database_for
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

from .feed_support import port

pytestmark = [pytest.mark.integration]
PORTS = {"intake": port(61), "planning": port(62), "monitoring": port(63), "notifications": port(64)}
AGENCY = f"agency-sasl-{uuid.uuid4().hex[:6]}"


def consumer_groups(service: str) -> set[str]:
    """The consumer groups the service's app starts (its ConsumerSpecs)."""
    from importlib import import_module
    from unittest.mock import MagicMock

    app = import_module(f"services.{service}.entrypoints.app").create_app()
    return {f"waypoint.{service}.{spec.name}" for spec in app.state.consumer_specs(MagicMock())}


@pytest.fixture(scope="module")
def stack(sasl_broker, principals, database_url, tmp_path_factory):
    """The four services as processes; their only Kafka endpoint is the SASL listener."""
    state = tmp_path_factory.mktemp("sasl-stack")
    run = uuid.uuid4().hex[:8]
    bootstrap = f"127.0.0.1:{sasl_broker.sasl_port}"

    async def create() -> None:
        for name in PORTS:
            await ensure_database(database_url, f"sasl_{name}_{run}")

    asyncio.run(create())
    env = {"DATABASE_URL": database_url, "LOG_JSON": "true", "RELAY_POLL_INTERVAL_S": "0.2",
           "KAFKA_PARTITIONS": "3",
           **{f"{name.upper()}_DATABASE_URL": database_for(database_url, f"sasl_{name}_{run}") for name in PORTS}}
    per_service = {name: sec.service_env(name, bootstrap, principals) for name in PORTS}
    try:
        yield start_services(state, env, ports=PORTS, timeout=120, service_env=per_service)
    finally:
        stop_services(state)


async def test_a_check_in_reaches_the_consuming_services_over_sasl(stack):
    specialist = f"specialist-{uuid.uuid4().hex[:6]}"
    staff = bearer(sub=specialist, agency_id=AGENCY)
    async with httpx.AsyncClient(timeout=10) as http:
        for name, url in stack.items():  # each one logged in to Kafka and found its topics
            ready = (await http.get(f"{url}/health/ready/kafka")).json()
            assert ready.get("status") == "ready", (name, ready)
        enrolled = await http.post(f"{stack['intake']}/v1/participants", headers=staff,
                                   json={"display_name": "Sam Example", "specialist_id": specialist})
        assert enrolled.status_code == 201, enrolled.text
        pid = enrolled.json()["participant_id"]
        assessed = await http.post(f"{stack['intake']}/v1/participants/{pid}/assessments", headers=staff,
                                   json={"phq9": {"answers": [2, 2, 1, 1, 2, 1, 1, 2, 0]}})
        assert assessed.status_code == 201, assessed.text

        async def plan():  # intake -> planning (svc-planning reads waypoint.intake.v1)
            r = await http.get(f"{stack['planning']}/v1/participants/{pid}/plan", headers=staff)
            return r.json() if r.status_code == 200 else None

        assert (await eventually(plan, timeout=90, message="the plan from intake's events"))["status"] == "draft"

        async def check_in():  # intake -> monitoring: the participant is monitored once enrolled there
            r = await http.post(f"{stack['monitoring']}/v1/participants/{pid}/check-ins", headers=staff,
                                json={"craving": 9, "mood": 2})
            return r.json() if r.status_code == 201 else None

        recorded = await eventually(check_in, timeout=90, message="a check-in monitoring accepts")

        async def timeline():  # monitoring -> monitoring's read models (its own topic)
            r = await http.get(f"{stack['monitoring']}/v1/participants/{pid}/timeline", headers=staff)
            types = [e["type"] for e in r.json()["entries"]]
            return types if "CheckInCompleted" in types else None

        types = await eventually(timeline, timeout=90, message="the check-in on monitoring's timeline")
        assert types.index("ParticipantEnrolled") < types.index("CheckInCompleted")
        assert ("RiskEscalated" in types) == recorded["escalated"]

        integrator = bearer(sub=f"integration-{AGENCY}", agency_id=AGENCY, roles=("integration",))

        async def feed():  # monitoring -> notifications (svc-notifications reads every service topic)
            r = await http.get(f"{stack['notifications']}/v1/events", headers=integrator,
                               params={"type": "waypoint.monitoring.CheckInCompleted.v1"})
            mine = [e for e in r.json()["events"] if e.get("subject") == pid or e["data"].get("participant_id") == pid]
            return mine or None

        events = await eventually(feed, timeout=90, message="the check-in in notifications' event feed")
        assert [e["type"] for e in events] == ["waypoint.monitoring.CheckInCompleted.v1"]
        assert events[0]["agencyid"] == AGENCY

        # each service reads its lag and dead letters under its own ACLs (shared/operations.py)
        operator = bearer(sub="operator-1", agency_id=AGENCY, roles=("operator",))
        for name, url in stack.items():
            status = (await http.get(f"{url}/v1/operations/status", headers=operator)).json()
            assert status["kafka"] is True, (name, status)
            assert status["dlq"]["topic"] == f"waypoint.{name}.dlq"
            assert {row["group"] for row in status["consumers"]} == consumer_groups(name)


async def test_a_service_principal_may_not_write_another_services_topic_nor_create_one(sasl_broker, principals):
    """What the ACLs refuse, through the very settings and client options the services use."""
    env = sec.service_env("planning", f"127.0.0.1:{sasl_broker.sasl_port}", principals)
    settings = ServiceSettings(service="planning", **{k.lower(): v for k, v in env.items()})
    producer = producer_for(settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic_for("planning"), b"{}", key=b"k")  # its own topic: allowed
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic_for("intake"), b"{}", key=b"k")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(sec.agency_topic("any-agency"), b"{}", key=b"k")
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(f"waypoint.rogue-{uuid.uuid4().hex[:6]}", 1, 1)])
        assert [error[1] for error in response.topic_errors] == [TopicAuthorizationFailedError.errno]
    finally:
        await admin.close()


async def test_a_service_on_sasl_creates_no_topic_and_waits_for_provisioning(sasl_broker, principals):
    """Its own topic missing: the topic check says which, creates nothing, and passes once provisioned."""
    from shared.inbox import dlq_topic
    from shared.runtime import TopicsNotProvisioned, ensure_topics

    service = f"probe{uuid.uuid4().hex[:6]}"
    user, password = f"svc-{service}", "probe-password"
    await sec.apply(sasl_broker.bootstrap, {user: password},
                    [sec.Acl(user, sec.TOPIC, topic, sec.LITERAL, op)
                     for topic in (topic_for(service), dlq_topic(service)) for op in (sec.WRITE, sec.DESCRIBE)])
    settings = ServiceSettings(service=service, kafka_bootstrap_servers=f"127.0.0.1:{sasl_broker.sasl_port}",
                               kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username=user,
                               kafka_sasl_password=password, kafka_partitions=1)
    with pytest.raises(TopicsNotProvisioned, match=f"{topic_for(service)}, {dlq_topic(service)}"):
        await ensure_topics(settings, consumed=[topic_for("intake")])
    admin = AIOKafkaAdminClient(bootstrap_servers=sasl_broker.bootstrap)  # the super user
    await admin.start()
    try:
        assert topic_for(service) not in await admin.list_topics()  # nothing was created
        await admin.create_topics([NewTopic(topic_for(service), 1, 1), NewTopic(dlq_topic(service), 1, 1)])
    finally:
        await admin.close()
    with pytest.raises(TopicsNotProvisioned, match=r"^waypoint\.intake\.v1$"):  # a topic it may not see
        await ensure_topics(settings, consumed=[topic_for("intake")])
    await ensure_topics(settings)  # provisioned: ready


async def test_a_service_over_sasl_ssl_verifies_the_broker_and_publishes(sasl_broker, principals, database_url):
    """KAFKA_SECURITY_PROTOCOL=SASL_SSL with KAFKA_SSL_CAFILE: intake, as svc-intake over TLS,
    publishes an enrolment; without the broker's CA the same settings cannot connect."""
    from shared.runtime import kafka_reachable
    from shared.testing.kafka import collect
    from shared.testing.services import running_service

    tls = {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "svc-intake",
           "kafka_sasl_password": principals["svc-intake"], "kafka_ssl_cafile": sasl_broker.tls_ca}
    bootstrap = f"127.0.0.1:{sasl_broker.sasl_ssl_port}"
    untrusted = ServiceSettings(kafka_bootstrap_servers=bootstrap, **{**tls, "kafka_ssl_cafile": None})
    assert not await kafka_reachable(bootstrap, untrusted.kafka_client_options())  # the system CAs: refused
    async with running_service("intake", kafka_bootstrap=bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1, **tls) as intake:
        assert await kafka_reachable(bootstrap, intake.runtime.settings.kafka_client_options())
        staff = bearer(sub="specialist-tls", agency_id=AGENCY)
        enrolled = await intake.client.post("/v1/participants", headers=staff,
                                            json={"display_name": "Alex Example", "specialist_id": "specialist-tls"})
        assert enrolled.status_code == 201, enrolled.text
        pid = enrolled.json()["participant_id"]
        records = await collect(sasl_broker.bootstrap, topic_for("intake"),
                                lambda r: r.key == pid.encode(), count=1, timeout=60)
        assert [dict(r.headers)["ce_type"] for r in records] == [b"waypoint.intake.ParticipantEnrolled.v1"]
