"""The outside world: an SMTP server and partners' webhook endpoints.

Each send returns ``(succeeded, reason)`` instead of raising, so one failing channel is just a
recorded outcome and never stops another delivery.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from services.notifications.domain.messages import Message


def _send_email_blocking(
    host: str, port: int, timeout: float, sender: str, to: str, message: Message, ref: str
) -> None:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=ref)
    email["X-Waypoint-Notification"] = ref
    email.set_content(message.text)
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.send_message(email)


async def send_email(
    host: str, port: int, timeout: float, sender: str, to: str, message: Message, ref: str
) -> tuple[bool, str]:
    """Hand one email to the SMTP server; accepted by the server counts as sent."""
    try:
        await asyncio.to_thread(_send_email_blocking, host, port, timeout, sender, to, message, ref)
        return True, "accepted"
    except (OSError, smtplib.SMTPException) as exc:
        return False, f"smtp: {type(exc).__name__}: {exc}"[:500]


async def post_webhook(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
    """POST a signed body; any 2xx counts as delivered, anything else is retried."""
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, f"webhook: {type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return True, f"HTTP {response.status_code}"
    return False, f"webhook: HTTP {response.status_code}"
