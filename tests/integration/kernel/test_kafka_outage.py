"""Kafka down while intake accepts a command: the command succeeds, the event is delayed, not lost."""

import uuid

import pytest

from shared.testing.auth import bearer
from shared.testing.kafka import collect, eventually, header
from shared.testing.services import running_service

pytestmark = [pytest.mark.integration, pytest.mark.infra_outage]


async def test_a_command_accepted_while_kafka_is_down_reaches_kafka_once_it_is_back(
    kafka_bootstrap, database_url, kafka_controller
):
    agency = f"agency-{uuid.uuid4().hex[:6]}"
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               relay_poll_interval_s=0.1) as intake:
        await kafka_controller.stop_kafka_async()
        response = await intake.client.post("/v1/participants", headers=bearer(agency_id=agency),
                                            json={"display_name": "Robin", "specialist_id": "s-1"})
        assert response.status_code == 201, response.text
        pid = response.json()["participant_id"]
        waiting = await intake.runtime.pool.fetchval("SELECT count(*) FROM outbox")
        assert waiting == 1, "the event waits in the outbox while Kafka is down"

        await kafka_controller.start_kafka_async()
        await eventually(lambda: intake.runtime.pool.fetchval("SELECT count(*) = 0 FROM outbox"), timeout=60,
                         message="the relay to drain the outbox after Kafka came back")
    records = await collect(kafka_bootstrap, "waypoint.intake.v1", lambda r: header(r, "ce_subject") == pid)
    assert [header(r, "ce_type") for r in records] == ["waypoint.intake.ParticipantEnrolled.v1"]
