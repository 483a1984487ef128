"""Delivery failure reasons enter events: a code and a generic text, never an address, host or banner."""

import smtplib

import httpx
import pytest

from services.notifications.adapters.channels import smtp_failure, webhook_failure

pytestmark = pytest.mark.unit

SECRET_BITS = ("alex.doe@example.org", "mail.partner.example", "Postfix", "10.0.0.4", "partner.example")


@pytest.mark.parametrize("exc, code", [
    (smtplib.SMTPRecipientsRefused({"alex.doe@example.org": (550, b"5.1.1 <alex.doe@example.org> unknown")}),
     "smtp-recipient-refused"),
    (smtplib.SMTPSenderRefused(553, b"mail.partner.example Postfix refuses", "no-reply@waypoint"),
     "smtp-sender-refused"),
    (smtplib.SMTPDataError(451, b"mail.partner.example Postfix: try later"), "smtp-451"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed by mail.partner.example"), "smtp-disconnected"),
    (ConnectionRefusedError(111, "Connection refused to 10.0.0.4:25"), "smtp-unreachable"),
    (TimeoutError("timed out talking to mail.partner.example"), "smtp-timeout"),
])
def test_smtp_failures_are_reduced_to_a_code(exc, code):
    reason = smtp_failure(exc)
    assert reason.split(":")[0] == code
    assert not any(bit in reason for bit in SECRET_BITS)


@pytest.mark.parametrize("exc, code", [
    (httpx.ConnectError("[Errno 111] connect to partner.example (10.0.0.4) refused"), "webhook-unreachable"),
    (httpx.ReadTimeout("read timeout from partner.example"), "webhook-timeout"),
    (httpx.RemoteProtocolError("partner.example sent garbage: Postfix"), "webhook-protocol-error"),
    (httpx.TooManyRedirects("partner.example"), "webhook-error"),
])
def test_webhook_failures_are_reduced_to_a_code(exc, code):
    reason = webhook_failure(exc)
    assert reason.split(":")[0] == code
    assert not any(bit in reason for bit in SECRET_BITS)
