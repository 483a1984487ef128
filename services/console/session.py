"""The session cookie: encrypted and signed (Fernet: AES-128-CBC + HMAC-SHA256), with an expiry.

It holds who signed in (sub, agency, roles), their bearer token for the services and a CSRF token.
Nothing is kept on the server: a cookie that fails to decrypt or is past its time is no session.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field

import orjson
from cryptography.fernet import Fernet, InvalidToken

COOKIE = "waypoint_session"


@dataclass(frozen=True)
class Session:
    sub: str
    agency_id: str
    roles: tuple[str, ...]
    token: str
    expires_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    display: str = ""

    def has_any(self, *roles: str) -> bool:
        return bool(set(self.roles).intersection(roles))

    @property
    def staff(self) -> bool:
        return self.has_any("specialist", "supervisor", "agency_admin")

    @property
    def home(self) -> str:
        if self.has_any("specialist"):
            return "/caseload"
        if self.has_any("supervisor"):
            return "/overview"
        if self.has_any("agency_admin"):
            return "/admin"
        if self.has_any("operator"):
            return "/operations"
        return "/me"


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class SessionCodec:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._fernet = _fernet(secret)
        self.ttl_s = ttl_s

    def encode(self, session: Session) -> str:
        return self._fernet.encrypt(orjson.dumps(asdict(session))).decode().rstrip("=")

    def decode(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            padded = cookie.strip('"') + "=" * (-len(cookie.strip('"')) % 4)
            data = orjson.loads(self._fernet.decrypt(padded.encode(), ttl=self.ttl_s))
            session = Session(**{**data, "roles": tuple(data["roles"])})
        except (InvalidToken, TypeError, ValueError, KeyError):
            return None
        return session if session.expires_at > time.time() else None

    def new(self, *, sub: str, agency_id: str, roles: list[str], token: str, token_exp: float | None = None,
            display: str = "") -> Session:
        expires = time.time() + self.ttl_s
        if token_exp is not None:
            expires = min(expires, token_exp)
        return Session(sub=sub, agency_id=agency_id, roles=tuple(roles), token=token, expires_at=expires,
                       display=display or sub)
