"""The SMTP server down, then back (real Kafka, PostgreSQL and an SMTP server that is not there at
first): the emails wait as failed tries with backoff, nothing gives up while the outage lasts
within the retry policy, and once the server is back each email is delivered exactly once, with
its stable Message-ID, and recorded once as NotificationSent.

A module of its own: the notifications service here must be the only one in the consumer group
(another module's service would take the partitions and send through a server that is up)."""

from __future__ import annotations

import uuid

import pytest
from notifications_harness import running_notifications, smtp_server
from test_notifications_flow import Agency, enrol, now, store_events

from services.notifications.adapters.channels import message_id
from shared.catalogue.monitoring import HelpRequested
from shared.testing.http_server import http_test_port
from shared.testing.kafka import eventually
from tests.integration.notifications.conftest import FAST

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DOWN_PORT = http_test_port(91)  # nothing listens here until the test starts the server


async def test_emails_wait_while_smtp_is_down_and_go_once_it_is_back(kafka_bootstrap, database_url, upstream):
    cfg = FAST.model_copy(update={"smtp_port": DOWN_PORT, "retry_max_attempts": 50, "retry_base_s": 0.2,
                                  "retry_cap_s": 0.5})
    async with running_notifications(kafka_bootstrap=kafka_bootstrap, database_url=database_url, cfg=cfg,
                                     relay_poll_interval_s=0.1) as svc:
        agency = await Agency(svc).setup()
        pid = await enrol(upstream, agency)
        await eventually(
            lambda: svc.runtime.pool.fetchval("SELECT 1 FROM recipient_directory WHERE participant_id = $1", pid),
            timeout=15, message="the enrolment in the directory")
        await upstream.publish(HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
                               agency_id=agency.id, participant_id=pid)

        async def failing_while_down():
            rows = await svc.runtime.pool.fetch(
                "SELECT status, attempts, last_error FROM deliveries WHERE participant_id = $1 AND channel = 'email'",
                pid)
            return rows if rows and all(r["attempts"] >= 2 for r in rows) else None

        down = await eventually(failing_while_down, timeout=20, message="the emails tried twice while SMTP is down")
        assert {r["status"] for r in down} == {"pending"}  # waiting, not given up
        assert all((r["last_error"] or "").startswith("smtp-") for r in down)

        with smtp_server(DOWN_PORT) as mail:  # the server is back

            async def all_sent():
                rows = await svc.runtime.pool.fetch(
                    "SELECT notification_id, status FROM deliveries WHERE participant_id = $1 AND channel = 'email'",
                    pid)
                return rows if all(r["status"] == "sent" for r in rows) else None

            rows = await eventually(all_sent, timeout=30, message="the emails sent once SMTP is back")
            expected = sorted(message_id(str(r["notification_id"]), cfg.smtp_sender) for r in rows)
            received = sorted(str(m.message["Message-ID"]) for m in mail.mails
                              if m.message["X-Waypoint-Notification"] in {str(r["notification_id"]) for r in rows})
            assert received == expected  # every email once, with its own stable Message-ID
            assert len(mail.to(agency.email(agency.specialist))) == 1

        sent = [e for e in await store_events(svc, "NotificationSent", pid) if e["data"]["channel"] == "email"]
        assert len(sent) == len(rows)
        failed = [e for e in await store_events(svc, "NotificationFailed", pid) if e["data"]["channel"] == "email"]
        assert failed == []
