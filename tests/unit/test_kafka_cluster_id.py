"""The native broker's cluster ids (deploy/kafka_native.py)."""

from base64 import urlsafe_b64encode

import pytest

from deploy import kafka_native

pytestmark = pytest.mark.unit


def test_a_cluster_id_starting_with_a_dash_is_drawn_again(monkeypatch):
    """Kafka's storage tool reads an id starting with "-" as an option (a start failed so)."""
    dash, plain = b"\xf8" + bytes(15), bytes(range(16))
    assert urlsafe_b64encode(dash).startswith(b"-")
    draws = iter([dash, dash, plain])

    class FakeUuid:
        def __init__(self) -> None:
            self.bytes = next(draws)

    monkeypatch.setattr(kafka_native.uuid, "uuid4", FakeUuid)
    assert kafka_native.new_cluster_id() == urlsafe_b64encode(plain).decode().rstrip("=")
