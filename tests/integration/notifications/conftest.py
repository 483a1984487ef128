from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_asyncio

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the harness module, under pytest's importlib import mode
    sys.path.insert(0, HERE)

from notifications_harness import (  # noqa: E402
    Upstream,
    running_notifications,
    smtp_server,
    webhook_receiver,
)

from services.notifications.settings import NotificationSettings  # noqa: E402
from shared.testing.http_server import http_test_port  # noqa: E402

# Inside this suite's HTTP range (WAYPOINT_TEST_HTTP_BASE + 90), not the development 2525 where
# `make up`'s mailbox listens: suites and a running development system never collide.
SMTP_PORT = http_test_port(90)


@pytest.fixture(scope="module")
def mail():
    with smtp_server(SMTP_PORT) as sink:
        yield sink


@pytest.fixture(scope="module")
def receiver():
    with webhook_receiver() as r:
        yield r


FAST = NotificationSettings(
    smtp_port=SMTP_PORT,
    base_url="https://waypoint.test",
    ack_timeout_s=3.0,
    escalation_poll_s=0.25,
    dispatch_poll_s=0.25,
    retry_max_attempts=4,
    retry_base_s=0.3,
    retry_cap_s=2.0,
    webhook_timeout_s=2.0,
    webhook_allowed_networks="127.0.0.1/32",  # the local test receiver, as an on-premises partner would be
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(kafka_bootstrap, database_url, mail, receiver):
    async with running_notifications(
        kafka_bootstrap=kafka_bootstrap, database_url=database_url, cfg=FAST, relay_poll_interval_s=0.1
    ) as svc:
        yield svc


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def upstream(kafka_bootstrap):
    publisher = Upstream(kafka_bootstrap)
    await publisher.start()
    yield publisher
    await publisher.stop()
