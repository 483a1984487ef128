from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.domain.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RetryPolicy,
    backoff_delay,
    next_retry,
    sign,
    signed_headers,
    verify,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"event":{"type":"ReferralRequested"}}'


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(b"s3cret", f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", TS, BODY) == f"v1={expected}"


def test_a_receiver_accepts_what_was_signed_with_the_shared_secret():
    headers = signed_headers("s3cret", BODY, TS, "delivery-1", "ReferralRequested")
    assert verify("s3cret", BODY, headers, NOW)


def test_header_names_are_matched_without_regard_to_case():
    headers = {k.lower(): v for k, v in signed_headers("s3cret", BODY, TS, "d", "X").items()}
    assert verify("s3cret", BODY, headers, NOW)


@pytest.mark.parametrize(
    ("secret", "body", "headers_change", "now"),
    [
        ("other", BODY, {}, NOW),  # wrong secret
        ("s3cret", BODY + b" ", {}, NOW),  # tampered body
        ("s3cret", BODY, {TIMESTAMP_HEADER: str(TS + 1)}, NOW),  # timestamp swapped after signing
        ("s3cret", BODY, {SIGNATURE_HEADER: "v1=00"}, NOW),
        ("s3cret", BODY, {TIMESTAMP_HEADER: "yesterday"}, NOW),
        ("s3cret", BODY, {}, NOW + timedelta(minutes=6)),  # replayed too late
    ],
)
def test_a_receiver_rejects_anything_else(secret, body, headers_change, now):
    headers = {**signed_headers("s3cret", BODY, TS, "d", "X"), **headers_change}
    assert not verify(secret, body, headers, now)


def test_a_missing_signature_is_rejected():
    assert not verify("s3cret", BODY, {TIMESTAMP_HEADER: str(TS)}, NOW)


POLICY = RetryPolicy(max_attempts=4, base=timedelta(seconds=2), cap=timedelta(seconds=10))


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [
        (1, 0.0, 1.0),  # half the 2 s ceiling, no jitter
        (1, 0.999999, 2.0),
        (2, 0.0, 2.0),
        (3, 0.5, 6.0),  # ceiling 8 s: 4 fixed + 2 jitter
        (4, 0.0, 5.0),  # ceiling capped at 10 s
        (9, 1.0, 10.0),
    ],
)
def test_backoff_doubles_with_jitter_up_to_the_cap(attempt, jitter, delay):
    assert backoff_delay(attempt, POLICY, lambda: jitter).total_seconds() == pytest.approx(delay, abs=1e-3)


def test_the_last_permitted_try_gives_up():
    assert next_retry(3, POLICY, NOW, lambda: 0.0) == NOW + timedelta(seconds=4)
    assert next_retry(4, POLICY, NOW, lambda: 0.0) is None


@settings(deadline=None)  # a busy CI machine must not turn slowness into failure
@given(attempt=st.integers(1, 500), jitter=st.floats(0, 1, exclude_max=True))
def test_every_delay_stays_between_half_the_ceiling_and_the_cap(attempt, jitter):
    delay = backoff_delay(attempt, POLICY, lambda: jitter)
    ceiling = min(POLICY.cap, POLICY.base * 2 ** min(attempt - 1, 40))
    assert ceiling / 2 <= delay <= ceiling <= POLICY.cap


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base": timedelta(0)}, {"base": timedelta(seconds=5), "cap": timedelta(seconds=1)}],
)
def test_nonsense_retry_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
