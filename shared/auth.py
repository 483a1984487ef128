"""Bearer JWT authentication with agency scoping.

Development signs tokens with HS256 and a shared secret; production verifies them against an
OIDC provider's JWKS. Claims: ``sub``, ``agency_id`` and ``roles``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request

ROLES = frozenset({"participant", "specialist", "supervisor", "agency_admin", "integration", "operator"})


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


class Authenticator:
    """Verifies bearer tokens (HS256 secret, or JWKS when ``jwks_url`` is set).

    A client sends the same token with every request until it expires, and checking the signature
    each time is a noticeable share of a small command's CPU. Verified tokens are therefore remembered for at
    most ``cache_ttl_s`` seconds (never past their ``exp``), up to ``cache_size`` of them, least
    recently used evicted first. Only successful verifications are cached; the short lifetime
    bounds how long a token signed by a key withdrawn from the JWKS keeps working.
    """

    def __init__(
        self, *, secret: str | None, jwks_url: str | None = None, audience: str | None = None,
        issuer: str | None = None, cache_size: int = 4096, cache_ttl_s: float = 60.0,
    ) -> None:
        self._secret = secret
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s
        self._audience = audience
        self._issuer = issuer
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    def verify(self, token: str) -> Principal:
        """The principal in ``token``; raises :class:`AuthError` if it cannot be trusted."""
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None:
            if now < hit[1]:
                self._cache.move_to_end(token)
                return hit[0]
            del self._cache[token]
        principal, exp = self._verify(token)
        if self._cache_size > 0:
            self._cache[token] = (principal, min(exp, now + self._cache_ttl_s))
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256"]
            else:
                key, algorithms = self._secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        agency = claims.get("agency_id")
        roles = claims.get("roles", [])
        if not isinstance(agency, str) or not agency:
            raise AuthError("token has no agency_id claim")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("roles claim must be a list of strings")
        principal = Principal(sub=str(claims["sub"]), agency_id=agency, roles=frozenset(roles) & ROLES)
        return principal, float(claims["exp"])

    def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("missing bearer token")
        return self.verify(token.strip())


def issue_token(
    secret: str, *, sub: str, agency_id: str, roles: list[str], ttl_s: int = 3600, **extra: Any
) -> str:
    """An HS256 development token (for the demo, tests and local tools)."""
    now = int(time.time())
    claims = {"sub": sub, "agency_id": agency_id, "roles": roles, "iat": now, "exp": now + ttl_s, **extra}
    return jwt.encode(claims, secret, algorithm="HS256")
