"""The key ring's cryptography without a database: sealing, associated data, erasure, wrapping."""

import base64
import os
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.keyring import (
    DEV_MASTER_KEY,
    MasterKeyProblem,
    MasterKeys,
    ParticipantKeys,
    UndecryptableValue,
    is_sealed,
    seal_with,
)

pytestmark = pytest.mark.unit

ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_sealed_value_opens_to_the_same_text_and_shows_none_of_it() -> None:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    sealed = seal_with(key, ALICE, "participants.display_name", "Alice Liddell")
    assert is_sealed(sealed) and "Alice" not in sealed
    assert sealed != seal_with(key, ALICE, "participants.display_name", "Alice Liddell")  # a fresh nonce each time
    assert ParticipantKeys({ALICE: key}).open(ALICE, "participants.display_name", sealed) == "Alice Liddell"


def test_a_value_moved_to_another_participant_or_field_does_not_open() -> None:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    sealed = seal_with(key, ALICE, "participants.display_name", "Alice Liddell")
    with pytest.raises(UndecryptableValue):
        ParticipantKeys({BOB: key}).open(BOB, "participants.display_name", sealed)
    with pytest.raises(UndecryptableValue):
        ParticipantKeys({ALICE: key}).open(ALICE, "support_contacts.name", sealed)


def test_a_shredded_key_reads_as_erased_never_as_an_error() -> None:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    sealed = seal_with(key, ALICE, "private_texts.body", "I met my old dealer")
    at = datetime(2026, 11, 27, 10, tzinfo=UTC)
    keys = ParticipantKeys(erased={ALICE: at})
    assert keys.open(ALICE, "private_texts.body", sealed) is None
    assert keys.open_json(ALICE, "participants.contact", sealed) is None
    assert keys.mark({"body": None}, ALICE) == {"body": None, "erased": True, "erased_at": at.isoformat()}
    assert keys.mark({"body": "x"}, BOB) == {"body": "x"}  # not erased: nothing added


def test_text_written_before_encryption_reads_as_it_is() -> None:
    assert ParticipantKeys().open(ALICE, "participants.display_name", "Plain Name") == "Plain Name"
    assert ParticipantKeys().open_json(ALICE, "participants.contact", {"phone": "1"}) == {"phone": "1"}


def test_rotation_rewraps_a_data_key_under_the_new_master_key_and_the_old_one_still_unwraps() -> None:
    old, new = _key(), _key()
    before = MasterKeys.parse(old, "k1", development=False)
    data_key = AESGCM.generate_key(bit_length=256)
    key_id, wrapped = before.wrap(ALICE, data_key)
    assert key_id == "k1"
    after = MasterKeys.parse(new, "k2", f"k1={old}", development=False)
    assert after.unwrap(ALICE, key_id, wrapped) == data_key  # the old key still opens what it wrapped
    new_id, rewrapped = after.wrap(ALICE, after.unwrap(ALICE, key_id, wrapped))
    assert new_id == "k2" and rewrapped != wrapped
    only_new = MasterKeys.parse(new, "k2", development=False)
    assert only_new.unwrap(ALICE, new_id, rewrapped) == data_key  # the old master key can now be retired
    with pytest.raises(MasterKeyProblem, match="k1"):
        only_new.unwrap(ALICE, key_id, wrapped)
    with pytest.raises(InvalidTag):
        after.unwrap(BOB, new_id, rewrapped)  # a wrapped key is bound to its participant


@pytest.mark.parametrize("value, problem", [
    (None, "WAYPOINT_MASTER_KEY is missing"),
    (DEV_MASTER_KEY, "development key"),
    ("not base64!", "not base64"),
    (base64.b64encode(os.urandom(16)).decode(), "32 random bytes"),
    (base64.b64encode(b"a" * 32).decode(), "not random enough"),
])
def test_outside_development_a_missing_or_weak_master_key_is_refused(value: str | None, problem: str) -> None:
    with pytest.raises(MasterKeyProblem, match=problem):
        MasterKeys.parse(value, "k1", development=False)


def test_development_falls_back_to_the_development_key() -> None:
    assert MasterKeys.parse(None, "k1", development=True).current_id == "development-1"


def test_a_service_outside_development_without_a_master_key_says_so_in_one_line() -> None:
    from shared.settings import InsecureSettings, ServiceSettings

    settings = ServiceSettings(_env_file=None, waypoint_env="production", jwt_jwks_url="https://idp/certs",  # type: ignore[call-arg]
                               jwt_issuer="https://idp", jwt_audience="waypoint-api", db_app_password="p" * 20)
    with pytest.raises(InsecureSettings) as refused:
        settings.check_security()
    assert "\n" not in str(refused.value) and "WAYPOINT_MASTER_KEY is missing" in str(refused.value)


def test_only_a_private_event_may_declare_sealed_text() -> None:
    from typing import ClassVar

    from shared.events import DomainEvent, event

    with pytest.raises(ValueError, match="only private events"):
        @event("planning")
        class LeakyNoteWritten(DomainEvent):  # published, yet it says it holds text
            sealed: ClassVar[tuple[str, ...]] = ("note",)
            note: str = ""


def test_a_private_events_sealed_paths_are_sealed_and_opened_and_dropped_once_erased() -> None:
    from services.planning.domain.recorded import PlanVersionRecorded
    from shared.keyring import open_event_data

    assert PlanVersionRecorded.sealed == ("document.content",)
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    plain = {"participant_id": str(ALICE), "document": {"status": "active", "content": {"goals": ["walk"]}}}
    sealed_content = seal_with(key, ALICE, "events.PlanVersionRecorded.document.content", '{"goals":["walk"]}')
    stored = {"participant_id": str(ALICE), "document": {"status": "active", "content": sealed_content}}
    opened = {**stored, "document": dict(stored["document"])}
    open_event_data(ParticipantKeys({ALICE: key}), ALICE, "PlanVersionRecorded", opened)
    assert opened == plain
    erased = {**stored, "document": dict(stored["document"])}
    open_event_data(ParticipantKeys(erased={ALICE: datetime(2026, 11, 27, tzinfo=UTC)}), ALICE,
                    "PlanVersionRecorded", erased)
    assert erased == {"participant_id": str(ALICE), "document": {"status": "active"}}  # the field's default applies
