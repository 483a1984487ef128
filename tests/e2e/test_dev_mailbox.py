"""`make up`'s development mailbox catches what the notifications process really sends: a safety
concern (PHQ-9 item 9) emails the specialist, and the email is listed by the mailbox's API."""

import asyncio
import uuid

import httpx
import pytest

from deploy.mailbox import MailboxSettings, start_mailbox, stop_mailbox
from deploy.services import start_services, stop_services
from shared.db import ensure_database
from shared.testing.auth import bearer
from shared.testing.http_server import http_test_port
from shared.testing.kafka import eventually

pytestmark = pytest.mark.e2e

PORTS = {name: http_test_port(31 + i) for i, name in enumerate(("intake", "planning", "monitoring", "notifications"))}
SMTP_PORT, MAILBOX_HTTP_PORT = http_test_port(35), http_test_port(36)


@pytest.fixture(scope="module")
def stack(infra, tmp_path_factory):
    state = tmp_path_factory.mktemp("mailbox-e2e")
    run = uuid.uuid4().hex[:8]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "DATABASE_URL": infra.database_url,
        "LOG_JSON": "true",
        "RELAY_POLL_INTERVAL_S": "0.2",
        "NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT),
    }
    for name in PORTS:
        env[f"{name.upper()}_DATABASE_URL"] = infra.database_url.rsplit("/", 1)[0] + f"/mbx_{name}_{run}"

    async def create():
        for name in PORTS:
            await ensure_database(infra.database_url, f"mbx_{name}_{run}")

    asyncio.run(create())
    mailbox = start_mailbox(state, MailboxSettings(smtp_port=SMTP_PORT, http_port=MAILBOX_HTTP_PORT))
    try:
        yield {**start_services(state, env, ports=PORTS, timeout=90), "mailbox": mailbox["url"]}
    finally:
        stop_services(state)
        stop_mailbox(state)


async def test_a_safety_concern_email_lands_in_the_development_mailbox(stack):
    specialist = f"specialist-{uuid.uuid4().hex[:6]}"
    address = f"{specialist}@agency.example"
    auth = bearer(sub=specialist, agency_id="agency-mailbox")
    async with httpx.AsyncClient(timeout=10) as http:
        prefs = await http.put(f"{stack['notifications']}/v1/recipients/{specialist}/preferences", headers=auth,
                               json={"email": address, "channels": ["in_app", "email"]})
        assert prefs.status_code == 200, prefs.text
        enrolled = await http.post(f"{stack['intake']}/v1/participants", headers=auth,
                                   json={"display_name": "Sam Example", "specialist_id": specialist})
        assert enrolled.status_code == 201, enrolled.text
        pid = enrolled.json()["participant_id"]
        assessed = await http.post(f"{stack['intake']}/v1/participants/{pid}/assessments", headers=auth,
                                   json={"phq9": {"answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}})
        assert assessed.status_code == 201, assessed.text

        async def caught():
            messages = (await http.get(f"{stack['mailbox']}/v1/messages")).json()["messages"]
            return [m for m in messages if address in m["to"]] or None

        mine = await eventually(caught, timeout=90, message="the safety-concern email in the mailbox")
        detail = (await http.get(f"{stack['mailbox']}/v1/messages/{mine[0]['id']}")).json()
    assert detail["subject"] and detail["text"]
    assert "Sam Example" not in detail["subject"] + detail["text"]  # no direct identifiers in email
