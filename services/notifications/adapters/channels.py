"""The outside world: an SMTP server and partners' webhook endpoints.

Each send returns ``(succeeded, reason)`` instead of raising, so one failing channel is just a
recorded outcome and never stops another delivery. A failure's reason enters an event (and Kafka),
so it is a code and a short generic text only: never the address, the host, the path or what the
server said (an SMTP banner or error line can name the recipient or the partner's software).
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import httpx

from services.notifications.domain.messages import Message


def message_id(ref: str, sender: str) -> str:
    """The ``Message-ID`` of notification ``ref``: the same on every try, so a copy sent again
    after a crash (or a lease that ran out mid-send) is recognisably the same message."""
    domain = sender.rpartition("@")[2].strip(" >") or "waypoint.invalid"
    return f"<notification.{ref}@{domain}>"


def build_email(sender: str, to: str, message: Message, ref: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(ref, sender)
    email["X-Waypoint-Notification"] = ref
    email.set_content(message.text)
    return email


def _send_email_blocking(
    host: str, port: int, timeout: float, sender: str, to: str, message: Message, ref: str
) -> None:
    email = build_email(sender, to, message, ref)
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
        return False, smtp_failure(exc)


async def post_webhook(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
    """POST a signed body; any 2xx counts as delivered, anything else is retried."""
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, webhook_failure(exc)
    if 200 <= response.status_code < 300:
        return True, f"HTTP {response.status_code}"
    return False, f"webhook-http-{response.status_code}: the endpoint answered HTTP {response.status_code}"


#: why a message could not be handed over, by exception (the first that matches), as ``code: generic text``
_SMTP_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (smtplib.SMTPRecipientsRefused, "smtp-recipient-refused: the mail server refused the recipient"),
    (smtplib.SMTPSenderRefused, "smtp-sender-refused: the mail server refused the sender"),
    (smtplib.SMTPServerDisconnected, "smtp-disconnected: the mail server closed the connection"),
    (TimeoutError, "smtp-timeout: the mail server did not answer in time"),
    (OSError, "smtp-unreachable: the mail server could not be reached"),  # after its subclasses above
)
_WEBHOOK_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (httpx.TimeoutException, "webhook-timeout: the endpoint did not answer in time"),
    (httpx.ConnectError, "webhook-unreachable: the endpoint could not be reached"),
    (httpx.RemoteProtocolError, "webhook-protocol-error: the endpoint's answer was not valid HTTP"),
)


def _reason(exc: BaseException, reasons: tuple[tuple[type[BaseException], str], ...], otherwise: str) -> str:
    return next((text for kind, text in reasons if isinstance(exc, kind)), otherwise)


def smtp_failure(exc: BaseException) -> str:
    """The reason an email could not be handed over, as ``code: generic text``."""
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(exc, smtplib.SMTPSenderRefused):
        kind = "temporary" if 400 <= exc.smtp_code < 500 else "permanent"
        return f"smtp-{exc.smtp_code}: the mail server refused the message ({kind})"
    return _reason(exc, _SMTP_REASONS, "smtp-error: the message could not be handed to the mail server")


def webhook_failure(exc: BaseException) -> str:
    """The reason a webhook POST failed, as ``code: generic text``."""
    return _reason(exc, _WEBHOOK_REASONS, "webhook-error: the request to the endpoint failed")
