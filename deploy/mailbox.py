"""Development mailbox: an SMTP catcher for the emails notifications sends, with a small HTTP API.

``make up`` starts it (``python -m deploy.mailbox``) on the SMTP port notifications sends to in
development (``NOTIFICATIONS_SMTP_PORT``, 2525), so a newcomer sees the emails the alert ladder
sends; ``make down`` stops it. Every caught message is stored as an ``.eml`` file under
``.waypoint/mailbox/`` (kept across restarts; ``make clean`` removes it) and served, newest first,
by a development-only HTTP API on ``WAYPOINT_MAILBOX_HTTP_PORT`` (8025), bound to 127.0.0.1:

- ``GET /v1/messages?limit=50&before=<id>``: ``{"messages": [summary...], "next_before": id|null}``,
  a summary being ``{"id", "received_at", "from", "to": [...], "subject", "size_bytes"}``;
- ``GET /v1/messages/{id}``: the summary plus ``"text"`` (the plain-text body) and ``"html"``;
- ``GET /v1/messages/{id}/raw``: the message as received (``message/rfc822``);
- ``DELETE /v1/messages``: empty the mailbox; ``GET /health/live``.

It is a development tool, not part of any service: it never runs in production.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.services import REPO_ROOT, _alive, _pid, _tail

_ID = re.compile(r"\d{20}-[0-9a-f]{12}")


class MailboxSettings(BaseSettings):
    """``WAYPOINT_MAILBOX_*``. The SMTP port defaults to the one notifications sends to."""

    model_config = SettingsConfigDict(env_prefix="WAYPOINT_MAILBOX_", extra="ignore")

    smtp_port: int | None = None
    http_port: int = 8025
    host: str = "127.0.0.1"

    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        from services.notifications.settings import NotificationSettings

        return NotificationSettings().smtp_port


class Mailbox:
    """The caught messages: one ``<id>.eml`` file each; ids sort by arrival."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def store(self, raw: bytes) -> str:
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        partial = self.directory / f".{message_id}.part"
        partial.write_bytes(raw)
        partial.rename(self.directory / f"{message_id}.eml")  # readers never see half a message
        return message_id

    def ids(self) -> list[str]:
        return sorted((p.stem for p in self.directory.glob("*.eml") if _ID.fullmatch(p.stem)), reverse=True)

    def path(self, message_id: str) -> Path | None:
        if not _ID.fullmatch(message_id):
            return None
        path = self.directory / f"{message_id}.eml"
        return path if path.is_file() else None

    def clear(self) -> int:
        removed = 0
        for message_id in self.ids():
            (self.directory / f"{message_id}.eml").unlink(missing_ok=True)
            removed += 1
        return removed


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as f:
        return BytesParser(policy=email.policy.default).parse(f)  # type: ignore[return-value]


def summary(message_id: str, path: Path, message: EmailMessage) -> dict[str, Any]:
    received = datetime.fromtimestamp(int(message_id.split("-")[0]) / 1e9, UTC)
    recipients = [str(a) for header in message.get_all("to", []) for a in header.addresses]
    return {
        "id": message_id,
        "received_at": received.isoformat(),
        "from": str(message.get("from", "")),
        "to": recipients,
        "subject": str(message.get("subject", "")),
        "size_bytes": path.stat().st_size,
    }


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else None  # type: ignore[no-any-return]


def create_api(mailbox: Mailbox) -> FastAPI:
    """The mailbox's HTTP API (development only)."""
    api = FastAPI(title="Waypoint development mailbox", docs_url=None, redoc_url=None)

    def missing() -> JSONResponse:
        return JSONResponse({"title": "No such message", "status": 404}, 404, media_type="application/problem+json")

    @api.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/messages")
    async def list_messages(
        limit: int = Query(50, ge=1, le=500),
        before: str | None = Query(None, max_length=40, description="id of the last message already seen"),
    ) -> dict[str, Any]:
        ids = [i for i in mailbox.ids() if before is None or i < before][:limit]
        messages = []
        for message_id in ids:
            path = mailbox.path(message_id)
            if path is not None:
                messages.append(summary(message_id, path, _parse(path)))
        return {"messages": messages, "next_before": ids[-1] if len(ids) == limit else None}

    @api.get("/v1/messages/{message_id}", response_model=None)
    async def get_message(message_id: str) -> dict[str, Any] | JSONResponse:
        path = mailbox.path(message_id)
        if path is None:
            return missing()
        message = _parse(path)
        return {**summary(message_id, path, message), "text": _body(message, "plain"), "html": _body(message, "html")}

    @api.get("/v1/messages/{message_id}/raw", response_model=None)
    async def raw_message(message_id: str) -> Response:
        path = mailbox.path(message_id)
        return missing() if path is None else Response(path.read_bytes(), media_type="message/rfc822")

    @api.delete("/v1/messages")
    async def clear() -> dict[str, int]:
        return {"removed": mailbox.clear()}

    return api


class _Catcher:
    """aiosmtpd handler: accept every message and store it as received."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.store(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


async def serve(directory: Path, smtp_port: int, http_port: int, host: str = "127.0.0.1") -> None:
    """Run the SMTP catcher and the HTTP API until cancelled (or SIGTERM)."""
    import uvicorn
    from aiosmtpd.smtp import SMTP

    mailbox = Mailbox(directory)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(_Catcher(mailbox), hostname=host), host, smtp_port)
    server = uvicorn.Server(uvicorn.Config(create_api(mailbox), host=host, port=http_port, log_level="warning"))
    try:
        await server.serve()  # returns on SIGTERM/SIGINT (uvicorn's handlers)
    finally:
        smtp.close()
        await smtp.wait_closed()


# --- process management for `make up` / `make down` (pid and log in <state>/services/) ---


def start_mailbox(state_dir: Path, settings: MailboxSettings | None = None, timeout: float = 30.0) -> dict[str, str]:
    """Start the mailbox process unless it runs already; returns its SMTP address and API URL."""
    cfg = settings or MailboxSettings()
    smtp_port = cfg.resolved_smtp_port()
    run_dir = state_dir / "services"
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file, log_file = run_dir / "mailbox.pid", run_dir / "mailbox.log"
    url = f"http://{cfg.host}:{cfg.http_port}"
    if not _alive(pid_file):
        with log_file.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "deploy.mailbox", "--dir", str(state_dir / "mailbox"),
                 "--smtp-port", str(smtp_port), "--http-port", str(cfg.http_port), "--host", cfg.host],
                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                return {"smtp": f"{cfg.host}:{smtp_port}", "url": url}
        except httpx.HTTPError:
            pass
        if not _alive(pid_file):
            raise RuntimeError(f"mailbox exited; see {log_file}:\n{_tail(log_file)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"mailbox not ready after {timeout}s:\n{_tail(log_file)}")
        time.sleep(0.2)


def stop_mailbox(state_dir: Path, timeout: float = 10.0) -> bool:
    """SIGTERM the mailbox process (SIGKILL if it lingers); True if one was running."""
    pid_file = state_dir / "services" / "mailbox.pid"
    pid = _pid(pid_file)
    if pid is None or not _alive(pid_file):
        pid_file.unlink(missing_ok=True)
        return False
    import os

    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid_file):
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> None:
    cfg = MailboxSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".waypoint" / "mailbox")
    parser.add_argument("--smtp-port", type=int, default=None)
    parser.add_argument("--http-port", type=int, default=cfg.http_port)
    parser.add_argument("--host", default=cfg.host)
    args = parser.parse_args(argv)
    smtp_port = args.smtp_port if args.smtp_port is not None else cfg.resolved_smtp_port()
    asyncio.run(serve(args.dir, smtp_port, args.http_port, args.host))


if __name__ == "__main__":
    main()
