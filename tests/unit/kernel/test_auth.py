"""Bearer token verification, and the cache of verified tokens."""

from __future__ import annotations

import time

import pytest

from shared import auth
from shared.auth import Authenticator, AuthError, issue_token

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(auth, "time", c)
    return c


def test_a_valid_token_gives_its_principal() -> None:
    token = issue_token(SECRET, sub="crs-1", agency_id="a1", roles=["specialist", "not-a-role"])
    p = Authenticator(secret=SECRET).verify(token)
    assert (p.sub, p.agency_id, p.roles) == ("crs-1", "a1", frozenset({"specialist"}))


def test_a_wrong_signature_is_refused_and_not_cached() -> None:
    a = Authenticator(secret=SECRET)
    forged = issue_token("another-secret", sub="crs-1", agency_id="a1", roles=["specialist"])
    for _ in range(2):
        with pytest.raises(AuthError):
            a.verify(forged)


def test_a_cached_token_is_not_served_past_its_expiry(clock: Clock) -> None:
    a = Authenticator(secret=SECRET, cache_ttl_s=600)
    token = issue_token(SECRET, sub="crs-1", agency_id="a1", roles=["specialist"], ttl_s=30)
    a.verify(token)
    clock.now += 29
    assert a.verify(token).sub == "crs-1"  # from the cache
    assert token in a._cache
    clock.now += 2
    a._secret = "rotated"  # only a real verification can fail now
    with pytest.raises(AuthError):  # past exp: the entry is dropped and the token verified again
        a.verify(token)
    assert token not in a._cache


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, sub="crs-1", agency_id="a1", roles=["specialist"], ttl_s=-5)
    with pytest.raises(AuthError, match="expired"):
        Authenticator(secret=SECRET).verify(token)


def test_the_cache_is_bypassed_after_its_lifetime(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    a = Authenticator(secret=SECRET, cache_ttl_s=60)
    token = issue_token(SECRET, sub="crs-1", agency_id="a1", roles=["specialist"], ttl_s=3600)
    calls: list[str] = []
    real = auth.jwt.decode

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("decode")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth.jwt, "decode", counting)
    a.verify(token)
    a.verify(token)
    assert len(calls) == 1
    clock.now += 61
    a.verify(token)
    assert len(calls) == 2


def test_the_cache_is_bounded() -> None:
    a = Authenticator(secret=SECRET, cache_size=3)
    tokens = [issue_token(SECRET, sub=f"crs-{i}", agency_id="a1", roles=["specialist"]) for i in range(5)]
    for t in tokens:
        a.verify(t)
    assert len(a._cache) == 3
    assert tokens[0] not in a._cache and tokens[-1] in a._cache
