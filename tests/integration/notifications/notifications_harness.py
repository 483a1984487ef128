"""Real collaborators for notifications' integration tests: an SMTP server (aiosmtpd), a webhook
receiver that can be told to fail, the service in-process, and a publisher standing in for the
other services' outboxes (same CloudEvents encoding, same topics)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from services.notifications.entrypoints.app import create_app
from services.notifications.settings import NotificationSettings
from shared.cloudevents import encode, topic_for
from shared.db import ensure_database
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.runtime import Runtime
from shared.settings import ServiceSettings, database_for


@dataclass
class ReceivedMail:
    at: float
    to: tuple[str, ...]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(self.message.get_payload())


class MailSink:
    """aiosmtpd handler: every accepted message, with the time the server accepted it."""

    def __init__(self) -> None:
        self.mails: list[ReceivedMail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = ReceivedMail(time.time(), tuple(envelope.rcpt_tos), message_from_bytes(envelope.original_content))
        with self._lock:
            self.mails.append(mail)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [m for m in self.mails if address in m.to]


@contextlib.contextmanager
def smtp_server(port: int) -> Any:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class WebhookCall:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers ``/fail-N/...`` with 503 for the first N calls of that path, then 200;
    ``/down/...`` always 503."""

    calls: list[WebhookCall] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[WebhookCall]:
        return [c for c in self.calls if c.path == path]


@contextlib.contextmanager
def webhook_receiver() -> Any:
    receiver = WebhookReceiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                earlier = len(receiver.to(self.path))
                status = 200
                first = self.path.split("/")[1]
                if first == "down":
                    status = 503
                elif first.startswith("fail-") and earlier < int(first.removeprefix("fail-")):
                    status = 503
                receiver.calls.append(WebhookCall(time.time(), self.path, dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Notifications:
    runtime: Runtime
    client: httpx.AsyncClient
    cfg: NotificationSettings


@contextlib.asynccontextmanager
async def running_notifications(
    *, kafka_bootstrap: str, database_url: str, cfg: NotificationSettings, **overrides: Any
) -> AsyncIterator[Notifications]:
    """The notifications app with its lifespan (consumer, dispatcher, escalation) on a fresh database."""
    name = f"t_notifications_{uuid.uuid4().hex[:10]}"
    await ensure_database(database_url, name)
    settings = ServiceSettings(
        service="notifications",
        database_url=database_url,
        service_database_url=database_for(database_url, name),
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
        **overrides,
    )
    app = create_app(settings=settings, notification_settings=cfg)
    async with app.router.lifespan_context(app):
        rt: Runtime = app.state.runtime
        for consumer in rt.consumers:
            await consumer.started.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
            yield Notifications(rt, client, cfg)


class Upstream:
    """Publishes other services' events exactly as their outbox relays would."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
        self.sent: dict[UUID, tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = {}

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(
        self, event: DomainEvent, *, agency_id: str, participant_id: UUID, event_id: UUID | None = None
    ) -> UUID:
        service = type(event).service
        new = NewEvent(
            stream_id=f"{service}-{participant_id}",
            stream_type=service,
            agency_id=agency_id,
            participant_id=participant_id,
            event=event,
            metadata=Metadata(correlation_id=str(uuid.uuid4())),
            event_id=event_id or uuid.uuid4(),
        )
        key, value, headers = encode(new, service)
        assert key is not None
        topic = topic_for(service)
        await self._producer.send_and_wait(topic, value, key=key.encode(), headers=headers)
        self.sent[new.event_id] = (topic, key.encode(), value, headers)
        return new.event_id

    async def redeliver(self, event_id: UUID) -> None:
        """Send the very same record again, as a broker would after a lost offset commit."""
        topic, key, value, headers = self.sent[event_id]
        await self._producer.send_and_wait(topic, value, key=key, headers=headers)
