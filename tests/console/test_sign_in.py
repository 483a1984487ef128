"""Sessions, CSRF and sign-in without a browser: the console app in-process, the services and the
OIDC provider stood in for by an httpx transport."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.session import COOKIE, SessionCodec
from services.console.settings import ConsoleSettings

pytestmark = pytest.mark.unit


def services_answering_empty(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1/caseload":
        return httpx.Response(200, json={"participants": []})
    if request.url.path == "/v1/participants":
        return httpx.Response(200, json={"participants": []})
    return httpx.Response(404, json={"title": "Not Found"})


def dev_client(**settings) -> TestClient:
    transport = httpx.MockTransport(services_answering_empty)
    app = create_app(ConsoleSettings(session_secret="s" * 32, **settings), transport)
    return TestClient(app, follow_redirects=False)


def dev_sign_in(client: TestClient, user: str, agency: str, role: str, **headers: str) -> httpx.Response:
    """As a browser does: the form (and its CSRF cookie) first, then the post."""
    form = client.get("/sign-in").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    return client.post("/sign-in", data={"user": user, "agency": agency, "role": role, "csrf": csrf}, headers=headers)


def test_development_sign_in_sets_an_encrypted_httponly_lax_cookie_and_signs_out():
    client = dev_client()
    r = dev_sign_in(client, "crs-1", "agency-a", "specialist")
    assert r.status_code == 303 and r.headers["location"] == "/caseload"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert "crs-1" not in cookie and "agency-a" not in cookie  # encrypted, not just signed
    assert client.get("/caseload").status_code == 200
    page = client.get("/caseload").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/sign-out", data={}).status_code == 403  # sign-out is a form too
    assert client.post("/sign-out", data={"csrf": csrf}).status_code == 303
    assert client.get("/caseload").headers["location"].startswith("/sign-in")


def test_the_cookie_is_secure_behind_https():
    r = dev_sign_in(dev_client(), "crs-1", "a", "specialist", **{"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"]


def test_a_tampered_or_expired_cookie_is_no_session():
    codec = SessionCodec("k" * 32, ttl_s=60)
    session = codec.new(sub="crs-1", agency_id="a", roles=["specialist"], token="t")
    value = codec.encode(session)
    assert codec.decode(value) == session
    assert codec.decode(value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]) is None
    assert SessionCodec("another secret", 60).decode(value) is None
    expired = codec.new(sub="crs-1", agency_id="a", roles=["specialist"], token="t", token_exp=time.time() - 1)
    assert codec.decode(codec.encode(expired)) is None


def test_the_sign_in_form_itself_needs_its_csrf_token():
    client = dev_client()
    client.get("/sign-in")
    r = client.post("/sign-in", data={"user": "crs-1", "agency": "a", "role": "specialist", "csrf": "forged"})
    assert r.status_code == 403 and COOKIE not in r.cookies


def test_sign_in_form_names_each_missing_field():
    r = dev_sign_in(dev_client(), "", "", "nobody")
    assert r.status_code == 422
    assert "Enter a user id" in r.text and "Enter an agency id" in r.text and "Choose a role" in r.text


def test_a_page_of_another_role_is_refused_plainly():
    client = dev_client()
    dev_sign_in(client, str(uuid.uuid4()), "a", "participant")
    r = client.get("/admin")
    assert r.status_code == 403 and "Not allowed" in r.text


def test_a_service_that_is_down_is_named_in_a_banner():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = TestClient(create_app(ConsoleSettings(session_secret="s" * 32), httpx.MockTransport(down)),
                        follow_redirects=False)
    dev_sign_in(client, "crs-1", "a", "specialist")
    r = client.get("/caseload")
    assert r.status_code == 200
    assert "The monitoring service is not answering." in r.text and "Traceback" not in r.text


class Provider:
    """A standard OIDC provider, enough of one: discovery, JWKS, and a token endpoint checking PKCE."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())), "kid": "k1",
                    "alg": "RS256", "use": "sig"}
        self.challenge = self.nonce = ""

    def sign(self, claims: dict) -> str:
        now = int(time.time())
        return jwt.encode({"iss": self.issuer, "iat": now, "exp": now + 300, **claims}, self.key, "RS256",
                          headers={"kid": "k1"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = str(request.url).removeprefix(self.issuer)
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/auth",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks"})
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [self.jwk]})
        if path == "/token":
            form = parse_qs(request.content.decode())
            verifier = form["code_verifier"][0]
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != self.challenge or form["code"] != ["the-code"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={
                "token_type": "Bearer", "expires_in": 300,
                "id_token": self.sign({"sub": "u-1", "aud": "console", "nonce": self.nonce, "name": "Dana Reyes"}),
                "access_token": self.sign({"sub": "u-1", "aud": "waypoint", "agency_id": "agency-k",
                                           "realm_access": {"roles": ["supervisor"]}}),
            })
        return services_answering_empty(request)


def production_client(provider: Provider) -> TestClient:
    settings = ConsoleSettings(waypoint_env="production", session_secret="p" * 32, oidc_issuer=provider.issuer,
                               oidc_client_id="console", oidc_roles_claim="realm_access.roles")
    return TestClient(create_app(settings, httpx.MockTransport(provider)), follow_redirects=False)


def test_production_has_no_development_sign_in_and_signs_in_with_oidc_and_pkce():
    provider = Provider(f"https://idp-{uuid.uuid4().hex[:6]}.example/realms/waypoint")
    client = production_client(provider)
    assert client.post("/sign-in", data={"user": "x", "agency": "a", "role": "agency_admin"}).status_code == 404
    start = client.get("/sign-in?next=/overview")
    assert start.status_code == 303 and 'label for="f-user"' not in start.text
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert start.headers["location"].startswith(f"{provider.issuer}/auth")
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    provider.challenge, provider.nonce = query["code_challenge"][0], query["nonce"][0]
    assert client.get("/oidc/callback?code=the-code&state=forged").status_code == 403
    done = client.get(f"/oidc/callback?code=the-code&state={query['state'][0]}")
    assert done.status_code == 303 and done.headers["location"] == "/overview"
    session = client.app.state.codec.decode(client.cookies[COOKIE])
    assert (session.sub, session.agency_id, session.roles, session.display) == (
        "u-1", "agency-k", ("supervisor",), "Dana Reyes")


def test_production_refuses_to_start_without_a_provider():
    with pytest.raises(RuntimeError, match="OIDC_ISSUER"):
        create_app(ConsoleSettings(waypoint_env="production"))
