"""Production sign-in: OpenID Connect authorization code flow with PKCE (S256), via authlib.

The state, nonce, PKCE verifier and return path wait in a short-lived encrypted cookie between the
redirect and the callback. The provider's access token is what the console sends to the services
(they verify it against the same JWKS); ``agency_id`` and ``roles`` are read from its claims, the
claim names (dotted paths such as ``realm_access.roles``) set in the settings.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import jwt
import orjson
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from cryptography.fernet import InvalidToken
from fastapi import Request
from fastapi.responses import Response

from services.console.session import Session, SessionCodec, _fernet
from services.console.web import Refused, redirect

FLOW_COOKIE = "waypoint_oidc"
_discovery: dict[str, dict[str, Any]] = {}


async def _metadata(request: Request, issuer: str) -> dict[str, Any]:
    if issuer not in _discovery:
        async with httpx.AsyncClient(timeout=10, transport=request.app.state.transport) as http:
            r = await http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
            r.raise_for_status()
            meta = r.json()
            meta["_jwks"] = (await http.get(meta["jwks_uri"])).json()
        _discovery[issuer] = meta
    return _discovery[issuer]


def _client(request: Request) -> AsyncOAuth2Client:
    s = request.app.state.settings
    redirect_uri = s.oidc_redirect_url or str(request.url_for("oidc_callback"))
    return AsyncOAuth2Client(client_id=s.oidc_client_id, client_secret=s.oidc_client_secret, scope=s.oidc_scope,
                             redirect_uri=redirect_uri, code_challenge_method="S256",
                             transport=request.app.state.transport)


async def begin(request: Request, next_path: str) -> Response:
    s = request.app.state.settings
    meta = await _metadata(request, s.oidc_issuer)
    verifier, state, nonce = generate_token(48), secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    async with _client(request) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                 code_verifier=verifier)
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_path}
    response = redirect(url)
    response.set_cookie(FLOW_COOKIE, _fernet(s.session_secret).encrypt(orjson.dumps(flow)).decode(), max_age=600,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/oidc")
    return response


def _flow(request: Request) -> dict[str, Any]:
    s = request.app.state.settings
    try:
        flow: dict[str, Any] = orjson.loads(
            _fernet(s.session_secret).decrypt(request.cookies.get(FLOW_COOKIE, "").encode(), ttl=600))
        return flow
    except (InvalidToken, ValueError):
        raise Refused("The sign-in took too long or was started elsewhere. Sign in again.") from None


def next_of(request: Request) -> str:
    return str(_flow(request).get("next") or "")


def claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


async def finish(request: Request) -> Session:
    s = request.app.state.settings
    flow = _flow(request)
    if not secrets.compare_digest(request.query_params.get("state", ""), flow["state"]):
        raise Refused("The sign-in answer did not match the request. Sign in again.")
    meta = await _metadata(request, s.oidc_issuer)
    async with _client(request) as client:
        token = await client.fetch_token(meta["token_endpoint"], code=request.query_params.get("code", ""),
                                         code_verifier=flow["verifier"])
    keys = jwt.PyJWKSet.from_dict(meta["_jwks"])
    try:
        id_claims = _verify(token["id_token"], keys, audience=s.oidc_client_id, issuer=meta["issuer"])
        if not secrets.compare_digest(str(id_claims.get("nonce", "")), flow["nonce"]):
            raise jwt.InvalidTokenError("nonce")
        access = _verify(token["access_token"], keys, audience=None, issuer=meta["issuer"])
    except (jwt.PyJWTError, KeyError, ValueError, StopIteration):
        raise Refused("The identity provider's answer could not be verified.") from None
    agency = claim(access, s.oidc_agency_claim) or claim(id_claims, s.oidc_agency_claim)
    roles = claim(access, s.oidc_roles_claim) or claim(id_claims, s.oidc_roles_claim) or []
    if not agency:
        raise Refused("Your account has no agency. Ask your agency admin.")
    exp = float(access.get("exp") or time.time() + 300)
    name = str(id_claims.get("name") or id_claims.get("preferred_username") or access["sub"])
    codec: SessionCodec = request.app.state.codec
    return codec.new(sub=str(access["sub"]), agency_id=str(agency), roles=[str(r) for r in roles],
                                       token=token["access_token"], token_exp=exp, display=name)


def _verify(token: str, keys: jwt.PyJWKSet, *, audience: str | None, issuer: str) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token).get("kid")
    key = next(k for k in keys.keys if kid is None or k.key_id == kid)
    return jwt.decode(token, key=key.key, algorithms=[key.algorithm_name], audience=audience, issuer=issuer,
                      leeway=30, options={"verify_aud": audience is not None})
