"""The development mailbox: `make up`'s SMTP catcher and the HTTP API the console lists mail from."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import httpx
import pytest

from deploy._util import port_is_open
from deploy.mailbox import MailboxSettings, start_mailbox, stop_mailbox
from shared.testing.http_server import http_test_port

pytestmark = pytest.mark.integration

SMTP_PORT, HTTP_PORT = http_test_port(20), http_test_port(21)


def send(subject: str, to: str, body: str = "Someone on your caseload needs attention.") -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Waypoint <no-reply@waypoint.local>", to, subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
        smtp.send_message(message)


@pytest.fixture
def mailbox(tmp_path):
    settings = MailboxSettings(smtp_port=SMTP_PORT, http_port=HTTP_PORT)
    started = start_mailbox(tmp_path, settings)
    yield started, tmp_path, settings
    stop_mailbox(tmp_path)


async def test_caught_mail_is_listed_newest_first_with_its_text(mailbox) -> None:
    (started, _, _) = mailbox
    assert started == {"smtp": f"127.0.0.1:{SMTP_PORT}", "url": f"http://127.0.0.1:{HTTP_PORT}"}
    await asyncio.to_thread(send, "Urgent: help requested", "sam@example.org", "Open Waypoint to respond.")
    await asyncio.to_thread(send, "Reminder: check in", "kim@example.org")
    async with httpx.AsyncClient(base_url=started["url"], timeout=10) as http:
        listed = (await http.get("/v1/messages")).json()
        assert [m["subject"] for m in listed["messages"]] == ["Reminder: check in", "Urgent: help requested"]
        assert listed["next_before"] is None
        first = listed["messages"][1]
        assert first["to"] == ["sam@example.org"] and "no-reply@waypoint.local" in first["from"]
        assert first["size_bytes"] > 0 and first["received_at"].endswith("+00:00")

        detail = (await http.get(f"/v1/messages/{first['id']}")).json()
        assert detail["text"].strip() == "Open Waypoint to respond." and detail["html"] is None
        raw = await http.get(f"/v1/messages/{first['id']}/raw")
        assert raw.headers["content-type"] == "message/rfc822" and b"Subject: Urgent: help requested" in raw.content

        page = (await http.get("/v1/messages", params={"limit": 1})).json()
        assert [m["subject"] for m in page["messages"]] == ["Reminder: check in"]
        rest = (await http.get("/v1/messages", params={"limit": 1, "before": page["next_before"]})).json()
        assert [m["subject"] for m in rest["messages"]] == ["Urgent: help requested"]

        assert (await http.get("/v1/messages/00000000000000000000-000000000000")).status_code == 404
        assert (await http.get("/v1/messages/..%2F..%2Fetc%2Fpasswd")).status_code == 404
        assert (await http.delete("/v1/messages")).json() == {"removed": 2}
        assert (await http.get("/v1/messages")).json()["messages"] == []


async def test_mail_is_kept_across_restarts_and_down_stops_the_process(mailbox) -> None:
    (started, state_dir, settings) = mailbox
    await asyncio.to_thread(send, "Milestone: 7 days", "sam@example.org")
    assert stop_mailbox(state_dir) is True
    assert not port_is_open("127.0.0.1", HTTP_PORT) and not port_is_open("127.0.0.1", SMTP_PORT)
    assert stop_mailbox(state_dir) is False  # nothing left to stop

    start_mailbox(state_dir, settings)
    async with httpx.AsyncClient(base_url=started["url"], timeout=10) as http:
        listed = (await http.get("/v1/messages")).json()["messages"]
    assert [m["subject"] for m in listed] == ["Milestone: 7 days"]
    assert len(list((state_dir / "mailbox").glob("*.eml"))) == 1


@pytest.mark.unit
def test_the_catcher_listens_where_notifications_sends_in_development(monkeypatch) -> None:
    from services.notifications.settings import NotificationSettings

    monkeypatch.delenv("WAYPOINT_MAILBOX_SMTP_PORT", raising=False)
    assert MailboxSettings().resolved_smtp_port() == NotificationSettings().smtp_port
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", "2600")
    assert MailboxSettings().resolved_smtp_port() == 2600


def test_a_mailbox_that_cannot_listen_says_so_and_leaves_nothing_running(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT of earlier tests
        taken.bind(("127.0.0.1", SMTP_PORT))
        taken.listen()
        with pytest.raises(RuntimeError, match="mailbox exited"):
            start_mailbox(tmp_path, MailboxSettings(smtp_port=SMTP_PORT, http_port=HTTP_PORT))
    assert stop_mailbox(tmp_path) is False
    assert not port_is_open("127.0.0.1", HTTP_PORT)
