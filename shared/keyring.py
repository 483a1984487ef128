"""Per-participant data keys, wrapped by a master key: encryption at rest and erasure by shredding.

Each service keeps, in its own ``data_keys`` table, one random 256-bit data key per participant it
holds text about, wrapped (AES-256-GCM) by the master key named in the row (``master_key_id``).
Identifying data and free text are sealed under the participant's data key before they are
written (AES-256-GCM, a random 96-bit nonce per value, the participant id and the field's purpose
as associated data, so a value moved to another person or another field does not open) and opened
when they are read.

Erasure destroys the wrapped key and leaves a tombstone (when, by whom, why): every value sealed
under it, in tables, event payloads and backups alike, can no longer be opened. Opening then
answers ``None`` and :meth:`ParticipantKeys.erased_at` says since when; nothing raises.

Rotating the master key re-wraps the data keys (:meth:`KeyRing.rotate`); no value is re-encrypted.
Unwrapped keys are cached in the process for ``cache_ttl_s`` (a key shredded by another replica
stops opening within that time; the replica that shreds forgets it at once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Sealed values are text: this prefix, then base64 of nonce || ciphertext || tag.
PREFIX = "wpe1:"
NONCE_BYTES = 12
KEY_BYTES = 32

DEV_MASTER_KEY_ID = "development-1"
#: The development master key: public, so refused outside development.
DEV_MASTER_KEY = base64.b64encode(hashlib.sha256(b"waypoint development master key, not a secret").digest()).decode()

DATA_KEYS_DDL = (
    """
    CREATE TABLE data_keys (
        participant_id  UUID PRIMARY KEY,
        agency_id       TEXT        NOT NULL,
        master_key_id   TEXT,
        wrapped_key     BYTEA,
        created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
        rewrapped_at    TIMESTAMPTZ,
        erased_at       TIMESTAMPTZ,
        erased_by       TEXT,
        erasure_reason  TEXT,
        CONSTRAINT data_keys_key_or_tombstone CHECK (
            (wrapped_key IS NOT NULL AND master_key_id IS NOT NULL AND erased_at IS NULL)
            OR (wrapped_key IS NULL AND master_key_id IS NULL AND erased_at IS NOT NULL))
    )
    """,
    "CREATE INDEX data_keys_master_key_idx ON data_keys (master_key_id) WHERE wrapped_key IS NOT NULL",
)


class MasterKeyProblem(ValueError):
    """The master key settings cannot be used; the message says which and why."""


def _decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyProblem(f"{name} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise MasterKeyProblem(f"{name} must be {KEY_BYTES} random bytes in base64 (it has {len(raw)})")
    if len(set(raw)) < 8:
        raise MasterKeyProblem(f"{name} is not random enough")
    return raw


@dataclass(frozen=True)
class MasterKeys:
    """The current master key (wraps new data keys) and earlier ones (still unwrap, until rotated)."""

    current_id: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, current: str | None, current_id: str, previous: str = "", *, development: bool) -> MasterKeys:
        """From settings: ``current`` (base64 of 32 bytes), its id, and ``previous`` as
        ``id=base64,id=base64``. Outside development a missing or development key is refused."""
        if not current:
            if not development:
                raise MasterKeyProblem("WAYPOINT_MASTER_KEY is missing")
            current, current_id = DEV_MASTER_KEY, DEV_MASTER_KEY_ID
        if not development and current.strip() == DEV_MASTER_KEY:
            raise MasterKeyProblem("WAYPOINT_MASTER_KEY is the development key")
        if not current_id or not current_id.strip():
            raise MasterKeyProblem("WAYPOINT_MASTER_KEY_ID is empty")
        keys = {current_id: _decode_key("WAYPOINT_MASTER_KEY", current)}
        for item in filter(None, (p.strip() for p in previous.split(","))):
            key_id, sep, value = item.partition("=")
            if not sep or not key_id.strip():
                raise MasterKeyProblem("WAYPOINT_PREVIOUS_MASTER_KEYS must read id=base64,id=base64")
            keys.setdefault(key_id.strip(), _decode_key(f"WAYPOINT_PREVIOUS_MASTER_KEYS[{key_id.strip()}]", value))
        return cls(current_id, keys)

    def wrap(self, participant_id: UUID, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        aad = f"{participant_id}|{self.current_id}".encode()
        return self.current_id, nonce + AESGCM(self.keys[self.current_id]).encrypt(nonce, data_key, aad)

    def unwrap(self, participant_id: UUID, key_id: str, wrapped: bytes) -> bytes:
        master = self.keys.get(key_id)
        if master is None:
            raise MasterKeyProblem(f"data key of {participant_id} is wrapped by master key {key_id!r}, not configured")
        aad = f"{participant_id}|{key_id}".encode()
        return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)


def _aad(participant_id: UUID, purpose: str) -> bytes:
    return f"{participant_id}|{purpose}".encode()


def seal_with(key: AESGCM, participant_id: UUID, purpose: str, plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.encrypt(nonce, plaintext.encode(), _aad(participant_id, purpose))
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class UndecryptableValue(ValueError):
    """A sealed value that its participant's live key does not open (tampered, or moved)."""


@dataclass
class ParticipantKeys:
    """The keys of some participants, looked up once for a read (one query for a whole page)."""

    keys: dict[UUID, AESGCM] = field(default_factory=dict)
    erased: dict[UUID, datetime] = field(default_factory=dict)

    def erased_at(self, participant_id: UUID) -> datetime | None:
        return self.erased.get(participant_id)

    def open(self, participant_id: UUID, purpose: str, value: Any) -> Any:
        """The plaintext of a sealed value; ``None`` when the participant was erased (or the value
        is absent). A value that is not sealed (written before encryption) is returned as it is."""
        if value is None or not is_sealed(value):
            return value
        key = self.keys.get(participant_id)
        if key is None:
            return None  # erased, or never had a key in this service: nothing can open it
        raw = base64.b64decode(value[len(PREFIX):])
        try:
            return key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(participant_id, purpose)).decode()
        except InvalidTag:
            raise UndecryptableValue(f"a {purpose} value of {participant_id} does not open") from None

    def open_json(self, participant_id: UUID, purpose: str, value: Any) -> Any:
        """:meth:`open` for a JSON document sealed with :meth:`KeyRing.seal_json`."""
        if not is_sealed(value):
            return value
        text = self.open(participant_id, purpose, value)
        return None if text is None else orjson.loads(text)

    def mark(self, out: dict[str, Any], participant_id: UUID) -> dict[str, Any]:
        """The API's one shape for erased data: ``"erased": true`` and ``"erased_at"`` on the
        object whose protected fields now read ``null``; nothing added when not erased."""
        at = self.erased.get(participant_id)
        if at is not None:
            out["erased"] = True
            out["erased_at"] = at.isoformat()
        return out


@dataclass(frozen=True)
class Sealer:
    """One participant's key at hand (``None``: erased, values are dropped)."""

    participant_id: UUID
    key: AESGCM | None

    def text(self, purpose: str, value: str | None) -> str | None:
        if value is None or self.key is None:
            return None
        return seal_with(self.key, self.participant_id, purpose, value)

    def json(self, purpose: str, value: Any) -> str | None:
        """A JSON document sealed, as JSON text (a string) for a ``jsonb`` column."""
        sealed = None if value is None else self.text(purpose, orjson.dumps(value).decode())
        return None if sealed is None else orjson.dumps(sealed).decode()


_SELECT = (
    "SELECT participant_id, master_key_id, wrapped_key, erased_at, created_at = now() AS fresh"
    " FROM data_keys WHERE participant_id = ANY($1::uuid[])"
)


class KeyRing:
    """A service's data keys (its ``data_keys`` table) under its master keys."""

    def __init__(self, master: MasterKeys, *, cache_ttl_s: float = 60.0, cache_size: int = 50_000) -> None:
        self.master = master
        self._ttl = cache_ttl_s
        self._size = cache_size
        self._cache: dict[UUID, tuple[AESGCM, float]] = {}

    # --- reading --------------------------------------------------------------------------

    def _cached(self, participant_id: UUID) -> AESGCM | None:
        hit = self._cache.get(participant_id)
        if hit is None:
            return None
        if hit[1] < time.monotonic():
            self._cache.pop(participant_id, None)
            return None
        return hit[0]

    def _remember(self, participant_id: UUID, key: AESGCM) -> None:
        if len(self._cache) >= self._size:
            self._cache.clear()  # crude but bounded; keys come back on the next read
        self._cache[participant_id] = (key, time.monotonic() + self._ttl)

    async def keys(self, conn: Any, participant_ids: Iterable[UUID]) -> ParticipantKeys:
        """The live keys and the erasures of ``participant_ids`` (through ``conn``: a pool or a
        connection, in the caller's scope)."""
        found = ParticipantKeys()
        wanted: list[UUID] = []
        for pid in dict.fromkeys(participant_ids):
            key = self._cached(pid)
            if key is not None:
                found.keys[pid] = key
            else:
                wanted.append(pid)
        if wanted:
            for row in await conn.fetch(_SELECT, wanted):
                self._take(row, found)
        return found

    def _take(self, row: Any, into: ParticipantKeys) -> AESGCM | None:
        pid = row["participant_id"]
        if row["wrapped_key"] is None:
            into.erased[pid] = row["erased_at"]
            self._cache.pop(pid, None)
            return None
        key = AESGCM(self.master.unwrap(pid, row["master_key_id"], bytes(row["wrapped_key"])))
        into.keys[pid] = key
        # A key created in this very transaction might still roll back: not cached until committed.
        if not row["fresh"]:
            self._remember(pid, key)
        return key

    # --- writing --------------------------------------------------------------------------

    async def key_for(self, conn: Any, participant_id: UUID, agency_id: str) -> AESGCM | None:
        """The participant's live key, created (inside ``conn``'s transaction) if they have none;
        ``None`` if they were erased (nothing more may be written about them)."""
        key = self._cached(participant_id)
        if key is not None:
            return key
        found = ParticipantKeys()
        # Try to create it first: one statement for a new participant (the common case of a miss:
        # an enrolment); a participant who has a key (or a tombstone) is read after the conflict.
        data_key = AESGCM.generate_key(bit_length=256)
        key_id, wrapped = self.master.wrap(participant_id, data_key)
        created = await conn.fetchval(
            "INSERT INTO data_keys (participant_id, agency_id, master_key_id, wrapped_key) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (participant_id) DO NOTHING RETURNING true",
            participant_id, agency_id, key_id, wrapped,
        )
        if created:
            return AESGCM(data_key)  # not cached: this transaction may still roll back
        # It exists (a key or a tombstone), perhaps created by a transaction we waited for: read it.
        for row in await conn.fetch(_SELECT, [participant_id]):
            return self._take(row, found)
        raise RuntimeError(f"data key of {participant_id} neither created nor found")  # pragma: no cover

    async def keys_for(self, conn: Any, owners: Iterable[tuple[UUID, str]]) -> dict[UUID, AESGCM | None]:
        """:meth:`key_for` of many (participant, agency) pairs: one query for those not cached,
        then a key created for each participant who has none."""
        agencies: dict[UUID, str] = dict(owners)
        found: dict[UUID, AESGCM | None] = {}
        looked = await self.keys(conn, agencies)
        found.update(looked.keys)
        found.update((pid, None) for pid in looked.erased)
        for pid, agency in agencies.items():
            if pid not in found:
                found[pid] = await self.key_for(conn, pid, agency)
        return found

    async def sealer(self, conn: Any, participant_id: UUID, agency_id: str) -> Sealer:
        """Seals several values of one participant with one key lookup."""
        return Sealer(participant_id, await self.key_for(conn, participant_id, agency_id))

    async def seal(
        self, conn: Any, participant_id: UUID, agency_id: str, purpose: str, value: str | None
    ) -> str | None:
        """``value`` sealed under the participant's key (``None`` stays ``None``; an erased
        participant's new text is dropped: ``None``)."""
        if value is None:
            return None
        key = await self.key_for(conn, participant_id, agency_id)
        return None if key is None else seal_with(key, participant_id, purpose, value)

    async def seal_json(self, conn: Any, participant_id: UUID, agency_id: str, purpose: str, value: Any) -> str | None:
        """A JSON document sealed; the result is a JSON text (a string) for a ``jsonb`` column."""
        if value is None:
            return None
        sealed = await self.seal(conn, participant_id, agency_id, purpose, orjson.dumps(value).decode())
        return None if sealed is None else orjson.dumps(sealed).decode()

    # --- erasure and rotation -------------------------------------------------------------

    async def shred(
        self, conn: Any, participant_id: UUID, agency_id: str, *, at: datetime, by: str | None, reason: str
    ) -> tuple[bool, datetime]:
        """Destroy the participant's data key, leaving a tombstone (idempotent). Returns whether
        this call erased, and when the erasure happened."""
        self._cache.pop(participant_id, None)
        row = await conn.fetchrow(
            "INSERT INTO data_keys AS k (participant_id, agency_id, master_key_id, wrapped_key, erased_at, erased_by,"
            " erasure_reason) VALUES ($1, $2, NULL, NULL, $3, $4, $5)"
            " ON CONFLICT (participant_id) DO UPDATE SET master_key_id = NULL, wrapped_key = NULL,"
            " erased_at = EXCLUDED.erased_at, erased_by = EXCLUDED.erased_by, erasure_reason = EXCLUDED.erasure_reason"
            " WHERE k.erased_at IS NULL RETURNING erased_at",
            participant_id, agency_id, at, by, reason,
        )
        self._cache.pop(participant_id, None)
        if row is not None:
            return True, row["erased_at"]
        erased_at = await conn.fetchval("SELECT erased_at FROM data_keys WHERE participant_id = $1", participant_id)
        return False, erased_at

    async def rotate(self, conn: Any, *, batch: int = 500) -> int:
        """Re-wrap every live data key not wrapped by the current master key (one transaction per
        batch; run in the system scope). Returns how many were re-wrapped."""
        done = 0
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    "SELECT participant_id, master_key_id, wrapped_key FROM data_keys"
                    " WHERE wrapped_key IS NOT NULL AND master_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
                    self.master.current_id, batch,
                )
                rewrapped = [
                    (row["participant_id"], *self.master.wrap(row["participant_id"], self.master.unwrap(
                        row["participant_id"], row["master_key_id"], bytes(row["wrapped_key"]))))
                    for row in rows
                ]
                if rewrapped:  # the batch in one statement, not one round trip per key
                    await conn.execute(
                        "UPDATE data_keys AS d SET master_key_id = u.key_id, wrapped_key = u.wrapped,"
                        " rewrapped_at = clock_timestamp()"
                        " FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS u(participant_id, key_id, wrapped)"
                        " WHERE d.participant_id = u.participant_id",
                        *(list(column) for column in zip(*rewrapped, strict=True)),
                    )
            done += len(rows)
            if len(rows) < batch:
                return done


def create_data_keys() -> None:
    """In an Alembic migration: the ``data_keys`` table, under row-level security by agency."""
    from alembic import op

    from shared.tenancy import enable_agency_rls

    for statement in DATA_KEYS_DDL:
        op.execute(statement)
    enable_agency_rls({"data_keys": ()})


# --- event payloads ---------------------------------------------------------------------------


def _split(path: str) -> tuple[list[str], str]:
    parts = path.split(".")
    return parts[:-1], parts[-1]


def _parent(data: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    parents, leaf = _split(path)
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), leaf


def sealed_paths(event_type: str) -> tuple[str, ...]:
    """The sealed paths an event type declares (``DomainEvent.sealed``); none for unknown types."""
    from shared.events import UnknownEventType, event_class

    try:
        return event_class(event_type).sealed
    except UnknownEventType:
        return ()


class EventSealer:
    """Seals the declared parts of event payloads (``DomainEvent.sealed``: dotted paths into the
    JSON data, each a field with a default) as they are appended to a service's event store, and
    opens them as they are read. An erased participant's sealed parts are left out of the data,
    so the event validates with the field's default (e.g. an empty plan content).

    Only private events (never published) may declare sealed paths: what goes on Kafka is built
    from the event, not from the stored data, and must carry no text at all.
    """

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    async def seal(self, conn: Any, events: Any, datas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``datas`` (the JSON payloads of ``events``, NewEvents) with their sealed paths sealed."""
        out = list(datas)
        for i, new in enumerate(events):
            paths = type(new.event).sealed
            if not paths:
                continue
            if new.participant_id is None:
                raise ValueError(f"{new.event_type} seals text but names no participant")
            key = await self.ring.key_for(conn, new.participant_id, new.agency_id)
            data = orjson.loads(orjson.dumps(datas[i]))  # a deep copy: the caller keeps the plain one
            for path in paths:
                parent, leaf = _parent(data, path)
                if parent is None or leaf not in parent:
                    continue
                if key is None:
                    del parent[leaf]  # erased: nothing more may be written about them
                else:
                    plain = orjson.dumps(parent[leaf]).decode()
                    parent[leaf] = seal_with(key, new.participant_id, f"events.{new.event_type}.{path}", plain)
            out[i] = data
        return out

    async def open(self, conn: Any, events: Any) -> None:
        """Open, in place, the sealed paths of ``events`` (StoredEvents, as read)."""
        targets = [e for e in events if e.participant_id is not None and sealed_paths(e.event_type)]
        if not targets:
            return
        keys = await self.ring.keys(conn, {e.participant_id for e in targets})
        for e in targets:
            open_event_data(keys, e.participant_id, e.event_type, e.data)


def open_event_data(keys: ParticipantKeys, participant_id: UUID, event_type: str, data: dict[str, Any]) -> None:
    """Open the sealed paths of one event's ``data`` in place (drop them when erased)."""
    for path in sealed_paths(event_type):
        parent, leaf = _parent(data, path)
        if parent is None or not is_sealed(parent.get(leaf)):
            continue
        text = keys.open(participant_id, f"events.{event_type}.{path}", parent[leaf])
        if text is None:
            del parent[leaf]
        else:
            parent[leaf] = orjson.loads(text)


#: what :func:`on_participant_erased` acts on (a consumer of intake's topic in every other service)
ERASURE_EVENTS = frozenset({"ParticipantErased"})


async def on_participant_erased(received: Any, uow: Any) -> None:
    """Consumer handler: intake erased a participant, so this service destroys its own data key
    for them (a tombstone naming the event). Idempotent (inbox, and the tombstone stays)."""
    from shared.catalogue.intake import ParticipantErased

    event = received.event
    if not isinstance(event, ParticipantErased):
        return
    ring: KeyRing = uow.keys
    await ring.shred(uow.conn, event.participant_id, received.agency_id, at=event.erased_at, by="intake",
                     reason=f"ParticipantErased {received.event_id}")
