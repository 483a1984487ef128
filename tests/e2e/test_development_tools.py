"""The development tools on the real service processes: `make up`'s mailbox catches what the
notifications process really sends (a safety concern from PHQ-9 item 9 emails the specialist), and
`make demo` ends with the demo participant's console page."""

import uuid

import httpx
import pytest

from deploy.cli import _demo
from deploy.mailbox import MailboxSettings, start_mailbox, stop_mailbox
from shared.testing.auth import bearer
from shared.testing.http_server import http_test_port
from shared.testing.kafka import eventually
from shared.testing.stack import service_stack, stack_ports

pytestmark = pytest.mark.e2e

PORTS = stack_ports(31)
SMTP_PORT, MAILBOX_HTTP_PORT = http_test_port(35), http_test_port(36)


@pytest.fixture(scope="module")
def stack(infra, tmp_path_factory):
    state = tmp_path_factory.mktemp("mailbox-e2e")
    mailbox = start_mailbox(state, MailboxSettings(smtp_port=SMTP_PORT, http_port=MAILBOX_HTTP_PORT))
    try:
        with service_stack(infra, state, PORTS, env={"NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT)}) as urls:
            yield {**urls, "mailbox": mailbox["url"]}
    finally:
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


async def test_the_demo_ends_with_the_console_page_of_its_participant(stack, capsys, monkeypatch):
    monkeypatch.delenv("WAYPOINT_CONSOLE_URL", raising=False)
    services = {name: stack[name] for name in PORTS}
    pid = await _demo("specialist-demo", "agency-demo", services)
    printed = capsys.readouterr().out.strip().splitlines()
    assert "PlanCreated" in "\n".join(printed)
    assert printed[-1] == f"http://127.0.0.1:8000/participants/{pid}"
    assert "specialist-demo" in printed[-2] and "agency-demo" in printed[-2]
