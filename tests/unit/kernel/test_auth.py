"""Bearer token verification, and the cache of verified tokens."""

from __future__ import annotations

import json
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


# --- hardening: lifetime, roles, HS256 only in development, RS256 through an async JWKS -------------------------

def test_a_token_living_longer_than_the_maximum_is_refused() -> None:
    a = Authenticator(secret=SECRET, max_lifetime_s=12 * 3600)
    assert a.verify(issue_token(SECRET, sub="s", agency_id="a1", roles=["specialist"], ttl_s=12 * 3600)).sub == "s"
    long_lived = issue_token(SECRET, sub="s", agency_id="a1", roles=["specialist"], ttl_s=12 * 3600 + 1)
    with pytest.raises(AuthError, match="longer than"):
        a.verify(long_lived)


def test_a_token_without_iat_is_refused() -> None:
    import jwt

    token = jwt.encode({"sub": "s", "agency_id": "a1", "roles": ["specialist"], "exp": int(time.time()) + 60},
                       SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="iat"):
        Authenticator(secret=SECRET).verify(token)


@pytest.mark.parametrize("roles", [[], ["not-a-role"]])
def test_a_token_without_a_waypoint_role_is_403(roles: list[str]) -> None:
    with pytest.raises(AuthError) as refused:
        Authenticator(secret=SECRET).verify(issue_token(SECRET, sub="s", agency_id="a1", roles=roles))
    assert refused.value.status == 403


def test_without_a_secret_hs256_tokens_are_refused() -> None:
    token = issue_token(SECRET, sub="s", agency_id="a1", roles=["specialist"])
    with pytest.raises(AuthError):
        Authenticator(secret=None).verify(token)


def _rsa_key(kid: str):  # type: ignore[no-untyped-def]
    import json

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public_jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def _rs256(private, kid: str, **overrides: object) -> str:  # type: ignore[no-untyped-def]
    import jwt

    now = int(time.time())
    claims = {"sub": "crs-9", "agency_id": "a1", "roles": ["specialist"], "iat": now, "exp": now + 300,
              "iss": "https://idp.test/realms/waypoint", "aud": "waypoint-api", **overrides}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


class JwksServer:
    """A JWKS endpoint behind httpx's async mock transport (counts the fetches)."""

    def __init__(self, *keys: dict[str, object]) -> None:
        self.keys = list(keys)
        self.requests = 0

    def transport(self):  # type: ignore[no-untyped-def]
        import httpx

        async def handle(request: httpx.Request) -> httpx.Response:
            self.requests += 1
            return httpx.Response(200, json={"keys": self.keys})

        return httpx.MockTransport(handle)


def _jwks_authenticator(server: JwksServer, **kwargs: object) -> Authenticator:
    from shared.auth import JwksKeys

    jwks = JwksKeys("https://idp.test/certs", transport=server.transport(), **kwargs)  # type: ignore[arg-type]
    return Authenticator(secret=None, jwks=jwks, issuer="https://idp.test/realms/waypoint", audience="waypoint-api")


async def test_an_rs256_token_is_verified_through_the_jwks_with_issuer_and_audience() -> None:
    private, public = _rsa_key("k1")
    server = JwksServer(public)
    a = _jwks_authenticator(server)
    principal = await a.verify_async(_rs256(private, "k1"))
    assert (principal.sub, principal.agency_id, principal.roles) == ("crs-9", "a1", frozenset({"specialist"}))
    for bad in (_rs256(private, "k1", aud="another-api"), _rs256(private, "k1", iss="https://evil.test"),
                _rs256(private, "k1", exp=int(time.time()) + 13 * 3600)):
        with pytest.raises(AuthError):
            await a.verify_async(bad)
    good = _rs256(private, "k1")
    head, payload, signature = good.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["agency_id"] = "a2"
    tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthError):
        await a.verify_async(f"{head}.{tampered_payload}.{signature}")
    assert server.requests == 1  # one fetch served them all


async def test_an_hs256_token_signed_with_the_public_key_is_refused_when_a_jwks_is_configured() -> None:
    _private, public = _rsa_key("k1")
    a = _jwks_authenticator(JwksServer(public))
    now = int(time.time())
    # the public key is public: an HS256 token "signed" with it must not pass (algorithm confusion)
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"sub": "x", "agency_id": "a1", "roles": ["agency_admin"], "iat": now, "exp": now + 60,
              "iss": "https://idp.test/realms/waypoint", "aud": "waypoint-api"}
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'k1'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(json.dumps(public).encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(signature)}"
    with pytest.raises(AuthError):
        await a.verify_async(forged)


async def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_interval() -> None:
    old_private, old_public = _rsa_key("old")
    new_private, new_public = _rsa_key("new")
    server = JwksServer(old_public)
    a = _jwks_authenticator(server, min_refresh_s=3600)
    await a.verify_async(_rs256(old_private, "old"))
    for kid in ("invented-1", "invented-2", "invented-3"):
        with pytest.raises(AuthError, match="unknown key"):
            await a.verify_async(_rs256(new_private, kid))
    assert server.requests == 1  # invented kids within the interval cause no fetch (no amplification)

    rotated = JwksServer(old_public)
    b = _jwks_authenticator(rotated, min_refresh_s=0)
    await b.verify_async(_rs256(old_private, "old"))
    rotated.keys.append(new_public)
    assert (await b.verify_async(_rs256(new_private, "new"))).sub == "crs-9"  # the provider rotated: fetched again
    assert rotated.requests == 2


async def test_a_jwks_that_cannot_be_fetched_refuses_the_token_without_blocking() -> None:
    import httpx

    from shared.auth import JwksKeys

    async def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    private, _ = _rsa_key("k1")
    a = Authenticator(secret=None, jwks=JwksKeys("https://idp.test/certs", transport=httpx.MockTransport(down)))
    with pytest.raises(AuthError, match="unknown key"):
        await a.verify_async(_rs256(private, "k1"))


# --- settings: outside development the service refuses to start without an identity provider ------------------

def _settings(**env: str):  # type: ignore[no-untyped-def]
    from shared.settings import ServiceSettings

    return ServiceSettings(_env_file=None, **env)  # type: ignore[call-arg]


def test_development_is_the_default_and_accepts_the_development_secret() -> None:
    s = _settings()
    assert s.waypoint_env == "development" and s.hs256_secret == s.jwt_secret
    s.check_security()


@pytest.mark.parametrize("env, names", [
    ({}, "JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, DB_APP_PASSWORD"),
    ({"jwt_secret": "short"}, "JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, DB_APP_PASSWORD"),
    ({"jwt_secret": "s" * 40, "jwt_issuer": "https://idp", "db_app_password": "p" * 20}, "JWT_JWKS_URL, JWT_AUDIENCE"),
    ({"jwt_jwks_url": "https://idp/certs", "jwt_issuer": "https://idp"}, "JWT_AUDIENCE, DB_APP_PASSWORD"),
])
def test_outside_development_missing_settings_stop_the_service(env: dict[str, str], names: str) -> None:
    from shared.settings import InsecureSettings

    with pytest.raises(InsecureSettings) as refused:
        _settings(waypoint_env="production", **env).check_security()
    message = str(refused.value)
    assert "\n" not in message and f"set {names} " in message
    if "jwt_secret" not in env and "jwt_jwks_url" not in env:
        assert "development default" in message


def test_outside_development_the_hs256_secret_is_not_used() -> None:
    s = _settings(waypoint_env="production", jwt_jwks_url="https://idp/certs", jwt_issuer="https://idp",
                  jwt_audience="waypoint-api", db_app_password="a-real-password-from-the-vault",
                  waypoint_master_key="q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=")
    s.check_security()
    assert s.hs256_secret is None


def test_a_service_started_in_production_with_the_development_secret_exits_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    env["WAYPOINT_ENV"] = "production"
    done = subprocess.run([sys.executable, "-m", "services.intake"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "waypoint-intake not started: WAYPOINT_ENV=production: JWT_SECRET is the development default; "
        "set JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, DB_APP_PASSWORD "
        "(HS256 tokens signed with JWT_SECRET are accepted only with WAYPOINT_ENV=development)"
    ]
