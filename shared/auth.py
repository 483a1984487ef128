"""Bearer JWT authentication with agency scoping.

Two kinds of token are understood, each with its algorithm pinned to its key:

* RS256/ES256/PS256 tokens signed by an OIDC provider (Keycloak in ``make up``), verified against
  the provider's JWKS (``JWT_JWKS_URL``) with issuer and audience enforced. The JWKS is fetched
  with an async HTTP client, cached, and fetched again when a token names an unknown key (at most
  once per ``jwks_min_refresh_s``) or when the cached set is older than ``jwks_max_age_s``.
* HS256 tokens signed with ``JWT_SECRET``: development only (``WAYPOINT_ENV=development``).

Claims: ``sub``, ``agency_id``, ``roles``, ``iat`` and ``exp``. A token whose lifetime
(``exp - iat``) exceeds ``max_lifetime_s`` is refused; a token without any known role gets 403.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog
from fastapi import Request

log = structlog.get_logger(__name__)

ROLES = frozenset({"participant", "specialist", "supervisor", "agency_admin", "integration", "operator"})
#: asymmetric algorithms accepted from a JWKS (never HS256, never "none")
JWKS_ALGORITHMS = ("RS256", "ES256", "PS256")
DEFAULT_MAX_LIFETIME_S = 12 * 3600


class AuthError(Exception):
    """Missing, malformed, expired or untrusted token (401), or a role the caller lacks (403)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Every query is scoped to ``agency_id``."""

    sub: str
    agency_id: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class JwksKeys:
    """The signing keys of an OIDC provider, fetched from its JWKS URL without blocking the loop.

    Keys are cached by ``kid``. A token naming a key not in the cache triggers one fetch, but no
    more than one per ``min_refresh_s`` (so a flood of tokens with invented ``kid`` values cannot
    turn the service into a JWKS-fetching amplifier); the whole set is also fetched again when it
    is older than ``max_age_s``, so a key the provider withdrew stops working. A failed fetch keeps
    the keys already known.
    """

    def __init__(
        self, url: str, *, min_refresh_s: float = 30.0, max_age_s: float = 600.0, timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._min_refresh_s = min_refresh_s
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._transport = transport
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")  # time.monotonic() of the last attempt
        self._loaded_at = float("-inf")  # time.monotonic() of the last successful fetch
        self._lock = asyncio.Lock()
        self.fetches = 0

    def cached(self, kid: str | None) -> jwt.PyJWK | None:
        """The key named ``kid`` if known and the set is fresh (no I/O)."""
        if time.monotonic() - self._loaded_at > self._max_age_s:
            return None
        return self._pick(kid)

    def _pick(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:  # a provider with a single key may omit the kid
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The key named ``kid``, fetching the JWKS if it is unknown or stale (rate limited)."""
        found = self.cached(kid)
        if found is not None:
            return found
        async with self._lock:
            found = self.cached(kid)  # another request may have fetched meanwhile
            if found is not None:
                return found
            if time.monotonic() - self._fetched_at >= self._min_refresh_s:
                await self._fetch()
        found = self._pick(kid)
        if found is None:
            raise AuthError("token signed by an unknown key")
        return found

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s, transport=self._transport) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                document = response.json()
            keys: dict[str, jwt.PyJWK] = {}
            for entry in document.get("keys", []):
                if entry.get("use", "sig") != "sig":
                    continue
                try:
                    parsed = jwt.PyJWK.from_dict(entry)
                except jwt.PyJWTError:
                    continue  # an algorithm this library cannot use: skip it, keep the others
                keys[str(entry.get("kid", ""))] = parsed
        except (httpx.HTTPError, ValueError, json.JSONDecodeError) as exc:
            log.warning("jwks fetch failed; keeping the keys already known", url=self.url, error=repr(exc))
            return
        self._keys = keys
        self._loaded_at = time.monotonic()


class Authenticator:
    """Verifies bearer tokens: RS256 (and ES/PS256) through a JWKS, HS256 with a secret.

    ``secret`` is ``None`` outside development, so HS256 tokens are then refused whatever their
    signature. A client sends the same token with every request until it expires, and checking the
    signature each time is a noticeable share of a small command's CPU. Verified tokens are
    therefore remembered for at most ``cache_ttl_s`` seconds (never past their ``exp``), up to
    ``cache_size`` of them, least recently used evicted first. Only successful verifications are
    cached; the short lifetime bounds how long a token signed by a withdrawn key keeps working.
    """

    def __init__(
        self, *, secret: str | None, jwks_url: str | None = None, audience: str | None = None,
        issuer: str | None = None, cache_size: int = 4096, cache_ttl_s: float = 60.0,
        max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S, jwks: JwksKeys | None = None,
    ) -> None:
        self._secret = secret
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s
        self._audience = audience
        self._issuer = issuer
        self._max_lifetime_s = max_lifetime_s
        self._jwks = jwks if jwks is not None else (JwksKeys(jwks_url) if jwks_url else None)

    def _cached(self, token: str, now: float) -> Principal | None:
        hit = self._cache.get(token)
        if hit is None:
            return None
        if now < hit[1]:
            self._cache.move_to_end(token)
            return hit[0]
        del self._cache[token]
        return None

    def _remember(self, token: str, principal: Principal, exp: float, now: float) -> Principal:
        if self._cache_size > 0:
            self._cache[token] = (principal, min(exp, now + self._cache_ttl_s))
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            return jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None

    def verify(self, token: str) -> Principal:
        """The principal in ``token`` without any I/O (HS256, or a JWKS key already cached);
        raises :class:`AuthError` if it cannot be trusted."""
        now = time.time()
        hit = self._cached(token, now)
        if hit is not None:
            return hit
        header = self._header(token)
        if header.get("alg") in JWKS_ALGORITHMS and self._jwks is not None:
            key = self._jwks.cached(header.get("kid"))
            if key is None:
                raise AuthError("token signed by an unknown key")
            principal, exp = self._decode(token, key.key, [str(header["alg"])])
        else:
            principal, exp = self._decode_hs256(token)
        return self._remember(token, principal, exp, now)

    async def verify_async(self, token: str) -> Principal:
        """:meth:`verify`, fetching the provider's JWKS first if the token names an unknown key."""
        now = time.time()
        hit = self._cached(token, now)
        if hit is not None:
            return hit
        header = self._header(token)
        if header.get("alg") in JWKS_ALGORITHMS and self._jwks is not None:
            key = await self._jwks.key(header.get("kid"))
            principal, exp = self._decode(token, key.key, [str(header["alg"])])
        else:
            principal, exp = self._decode_hs256(token)
        return self._remember(token, principal, exp, now)

    def _decode_hs256(self, token: str) -> tuple[Principal, float]:
        if self._secret is None:
            raise AuthError("token not signed by the identity provider")
        # Development's own tokens (`waypoint token`, tests): the issuer and audience are the
        # identity provider's, so they are not asked of these.
        return self._decode(token, self._secret, ["HS256"], provider=False)

    def _decode(self, token: str, key: Any, algorithms: list[str], provider: bool = True) -> tuple[Principal, float]:
        audience, issuer = (self._audience, self._issuer) if provider else (None, None)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audience,
                issuer=issuer,
                options={"require": ["sub", "exp", "iat"], "verify_aud": audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise AuthError("invalid token: exp and iat must be numbers")
        if exp - iat > self._max_lifetime_s:
            raise AuthError(f"token lives longer than the allowed {self._max_lifetime_s} s")
        agency = claims.get("agency_id")
        roles = claims.get("roles", [])
        if not isinstance(agency, str) or not agency:
            raise AuthError("token has no agency_id claim")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("roles claim must be a list of strings")
        known = frozenset(roles) & ROLES
        if not known:
            raise AuthError("token carries no Waypoint role", status=403)
        return Principal(sub=str(claims["sub"]), agency_id=agency, roles=known), float(exp)

    @staticmethod
    def _bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("missing bearer token")
        return token.strip()

    async def authenticate(self, request: Request) -> Principal:
        """The caller of ``request`` (raises :class:`AuthError`)."""
        return await self.verify_async(self._bearer(request))


def issue_token(
    secret: str, *, sub: str, agency_id: str, roles: list[str], ttl_s: int = 3600, **extra: Any
) -> str:
    """An HS256 development token (for the demo, tests and local tools)."""
    now = int(time.time())
    claims = {"sub": sub, "agency_id": agency_id, "roles": roles, "iat": now, "exp": now + ttl_s, **extra}
    return jwt.encode(claims, secret, algorithm="HS256")
