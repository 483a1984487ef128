"""``Idempotency-Key`` on POST and PATCH (IETF draft-ietf-httpapi-idempotency-key-header).

A client that retries a command after a timeout sends the same key; the service answers the
retry with the first response instead of running the command again:

- same key, same request (method, path, body) -> the first response (status, body, Location),
  marked ``Idempotent-Replayed: true``;
- same key, another request -> 422 problem ``idempotency-key-reused``;
- same key while the first request is still running -> 409 problem ``idempotency-key-in-use``
  (with ``Retry-After``).

Keys are scoped by agency and caller (from the bearer token): two callers never see each other's
responses. They live in the service's own database (kernel table ``idempotency_keys``) for
``KEEP_HOURS`` hours. The key is claimed (a row committed, status 0) before the command runs, so
two copies of a request can never both run it. The command's unit of work marks the key
(status 1) inside its own transaction (:func:`mark_committed`), so the key's row knows whether the
command's effects were committed. Work committed by another task on the request's behalf (monitoring's
group-commit check-in writer) carries the key along (:func:`current`) and marks it in the shared
transaction (:func:`mark_many_committed`). The response is recorded when the command has answered. A
response of 500 or more releases the key. A claim whose command never committed (status 0: the
process died, or the database went away before the release) may be claimed again after
``CLAIM_LEASE_S``; a command that committed but whose response was never recorded (a crash in that
instant) answers 409 until the key expires: never a second execution.

Implemented once as ASGI middleware (:class:`IdempotencyMiddleware`, installed by
``shared.http.install_conventions``), so every service's creating POSTs have it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import structlog
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

HEADER = b"idempotency-key"
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255
KEEP_HOURS = 24
IN_USE_RETRY_AFTER_S = 1
CLAIM_LEASE_S = 30
#: (scope, key) of the request being handled, for the unit of work's mark.
_current: ContextVar[tuple[str, str] | None] = ContextVar("waypoint_idempotency_key", default=None)
REPLAYS = Counter("waypoint_idempotent_replays_total", "Responses replayed for a repeated Idempotency-Key",
                  ["service"])

_CLAIM = """
INSERT INTO idempotency_keys (scope, key, request_hash, status, body)
VALUES ($1, $2, $3, 0, ''::bytea)
ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0, body = ''::bytea,
    content_type = NULL, location = NULL, created_at = clock_timestamp()
    WHERE idempotency_keys.created_at < clock_timestamp() - make_interval(hours => $4)
       OR (idempotency_keys.status = 0 AND idempotency_keys.created_at < clock_timestamp() - make_interval(secs => $5))
RETURNING 1
"""


#: An Idempotency-Key as the kernel stores it: (scope = ``agency/subject``, key).
Key = tuple[str, str]


def current() -> Key | None:
    """The key of the request being handled (None without the header). Code that commits the
    request's effects in another task (a group-commit writer) takes it along with the work."""
    return _current.get()


@contextlib.contextmanager
def acting_for(key: Key | None) -> Iterator[None]:
    """Run a block as the request owning ``key``: a unit of work opened inside marks that key."""
    token = _current.set(key)
    try:
        yield
    finally:
        _current.reset(token)


async def mark_many_committed(conn: Any, keys: Iterable[Key | None]) -> None:
    """Inside one transaction holding the effects of several requests: mark each one's key."""
    wanted = [k for k in keys if k is not None]
    if wanted:
        await conn.execute(
            "UPDATE idempotency_keys SET status = 1 FROM unnest($1::text[], $2::text[]) AS k(scope, key)"
            " WHERE idempotency_keys.scope = k.scope AND idempotency_keys.key = k.key"
            " AND idempotency_keys.status = 0",
            [scope for scope, _ in wanted], [key for _, key in wanted],
        )


async def mark_committed(conn: Any) -> None:
    """Inside a command's transaction: record that the request's key has committed effects."""
    current = _current.get()
    if current is not None:
        await conn.execute(
            "UPDATE idempotency_keys SET status = 1 WHERE scope = $1 AND key = $2 AND status = 0", *current
        )


def parse_key(raw: bytes) -> str | None:
    """The key of an ``Idempotency-Key`` header: a structured-field string (``"abc"``), also
    accepted bare; None if empty, too long or not printable ASCII."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text or len(text) > MAX_KEY_LENGTH or not text.isprintable():
        return None
    return text


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _problem(status: int, title: str, detail: str, code: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> Message:
    body = json.dumps({"type": f"https://waypoint.dev/problems/{code}", "title": title, "status": status,
                       "detail": detail}).encode()
    return {"status": status, "body": body, "headers": [(b"content-type", b"application/problem+json"), *extra]}


async def _send_response(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class IdempotencyMiddleware:
    """Pure ASGI middleware; does nothing for requests without the header or before the service's
    runtime (its database pool) exists."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        raw_key = headers.get(HEADER)
        pool = _pool(scope)
        if raw_key is None or pool is None:
            await self.app(scope, receive, send)
            return
        key = parse_key(raw_key)
        if key is None:
            await _send_response(send, **_problem(
                400, "Invalid Idempotency-Key", f"a string of 1 to {MAX_KEY_LENGTH} printable characters",
                "invalid-idempotency-key"))
            return
        caller = await _caller(scope, headers)
        if caller is None:  # unauthenticated: the route answers 401 itself, nothing to remember
            await self.app(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        fingerprint = request_hash(scope["method"], scope["path"], scope.get("query_string", b""), body)
        claimed = await pool.fetchval(_CLAIM, caller, key, fingerprint, KEEP_HOURS, CLAIM_LEASE_S)
        if not claimed:
            await self._answer_repeat(pool, caller, key, fingerprint, send)
            return
        await self._run_and_record(scope, receive, send, pool, caller, key)

    async def _answer_repeat(self, pool: Any, caller: str, key: str, fingerprint: str, send: Send) -> None:
        row = await pool.fetchrow("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", caller, key)
        if row is None:  # released meanwhile (the first attempt failed): the client may retry
            await _send_response(send, **_problem(409, "Idempotency-Key in use", "retry the request",
                                                  "idempotency-key-in-use",
                                                  [(b"retry-after", str(IN_USE_RETRY_AFTER_S).encode())]))
        elif row["request_hash"] != fingerprint:
            await _send_response(send, **_problem(
                422, "Idempotency-Key reused", "this key was used with another request (method, path or body)",
                "idempotency-key-reused"))
        elif row["status"] in (0, 1):
            await _send_response(send, **_problem(409, "Idempotency-Key in use",
                                                  "the first request with this key has not finished",
                                                  "idempotency-key-in-use",
                                                  [(b"retry-after", str(IN_USE_RETRY_AFTER_S).encode())]))
        else:
            REPLAYS.labels(self.service).inc()
            replayed = [(b"idempotent-replayed", b"true")]
            if row["content_type"]:
                replayed.append((b"content-type", row["content_type"].encode()))
            if row["location"]:
                replayed.append((b"location", row["location"].encode()))
            await _send_response(send, row["status"], bytes(row["body"]), replayed)

    async def _run_and_record(self, scope: Scope, receive: Receive, send: Send, pool: Any, caller: str,
                              key: str) -> None:
        status = 500
        chunks: list[bytes] = []
        response_headers: dict[bytes, bytes] = {}

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.update((k.lower(), v) for k, v in message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        token = _current.set((caller, key))
        try:
            await self.app(scope, receive, capture)
        finally:
            _current.reset(token)
            try:
                released = status >= 500 and await pool.execute(
                    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 0", caller, key
                ) == "DELETE 1"  # a 5xx after committed effects is recorded like any answer
                if not released:
                    await pool.execute(
                        "UPDATE idempotency_keys SET status = $3, body = $4, content_type = $5, location = $6"
                        " WHERE scope = $1 AND key = $2",
                        caller, key, status, b"".join(chunks),
                        _text(response_headers.get(b"content-type")), _text(response_headers.get(b"location")),
                    )
            except Exception as exc:  # the response went out; the key stays claimed (409 to retries)
                log.error("idempotency response not recorded", key=key, error=repr(exc))


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


def _pool(scope: Scope) -> Any:
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    return getattr(runtime, "pool", None)


async def _caller(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """``agency/subject`` of the bearer token, or None if there is no valid one."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    authenticator = getattr(getattr(scope.get("app"), "state", None), "authenticator", None)
    if scheme.lower() != "bearer" or not token or authenticator is None:
        return None
    try:
        principal = await authenticator.verify_async(token.strip())
    except Exception:
        return None
    return f"{principal.agency_id}/{principal.sub}"


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the application again."""
    chunks: list[bytes] = []
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def replayed() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return b"".join(chunks), replayed
