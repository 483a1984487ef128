"""Conventions every service shares, checked on intake: auth, problem details, correlation ids, health."""

import asyncio

import pytest

from shared.http import correlation_id_from
from shared.testing.auth import bearer
from shared.testing.services import running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap, database_url):
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc:
        yield svc


async def test_health_and_metrics_need_no_token_and_readiness_checks_database_and_kafka(intake):
    assert (await intake.client.get("/health/live")).status_code == 200
    await asyncio.wait_for(intake.runtime.kafka_ready.wait(), 30)  # topics are set up in the background
    ready = await intake.client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "kafka": True, "topics": True}
    assert ready.json()["kafka_bound"] == "ready"
    assert (await intake.client.get("/health/ready/kafka")).status_code == 200
    metrics = await intake.client.get("/metrics")
    assert metrics.status_code == 200 and "waypoint_http_requests_total" in metrics.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"},
                                     bearer(secret="some-other-secret-of-sufficient-length-0123456789")])
async def test_a_request_without_a_valid_token_is_401_whatever_its_body(intake, headers):
    response = await intake.client.post("/v1/participants", content=b"{not json",
                                        headers={**headers, "content-type": "application/json"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_json_is_a_422_problem_naming_the_body(intake):
    response = await intake.client.post("/v1/participants", content=b"{not json",
                                        headers={**bearer(), "content-type": "application/json"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


async def test_a_plain_correlation_id_is_kept_and_free_text_is_replaced(intake):
    kept = await intake.client.get("/health/live", headers={"x-correlation-id": "req-42.a:b"})
    assert kept.headers["x-correlation-id"] == "req-42.a:b"
    replaced = await intake.client.get("/health/live", headers={"x-correlation-id": "Alex Smith, 555-0100"})
    assert replaced.headers["x-correlation-id"] != "Alex Smith, 555-0100"
    assert correlation_id_from(None) != correlation_id_from(None)


async def test_service_topics_keep_their_events_forever(intake, kafka_bootstrap):
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "waypoint.intake.v1")])
        configs = {c[0]: c[1] for c in response.resources[0][4]}
    finally:
        await admin.close()
    assert configs["retention.ms"] == "-1"


async def test_an_existing_topic_with_a_shorter_retention_is_brought_to_keep_everything(kafka_bootstrap):
    import uuid

    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from shared.runtime import _converge_retention

    topic = f"t.retention.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": "86400000"})])
        await _converge_retention(admin, [topic], "-1")
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        configs = {c[0]: c[1] for c in response.resources[0][4]}
    finally:
        await admin.close()
    assert configs["retention.ms"] == "-1"


async def test_a_valid_token_without_any_waypoint_role_is_403(intake):
    response = await intake.client.get("/v1/participants", headers=bearer(roles=()))
    assert response.status_code == 403
    assert response.json()["title"] == "Forbidden"


async def test_a_token_living_longer_than_twelve_hours_is_401(intake):
    from shared.auth import issue_token
    from shared.testing.auth import DEV_SECRET

    token = issue_token(DEV_SECRET, sub="s", agency_id="agency-a", roles=["specialist"], ttl_s=13 * 3600)
    response = await intake.client.get("/v1/participants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "longer than" in response.json()["detail"]
