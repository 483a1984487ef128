from datetime import UTC, datetime
from uuid import uuid4

import orjson
import pytest

import shared.catalogue  # noqa: F401
from shared.catalogue.intake import ParticipantEnrolled
from shared.cloudevents import PoisonRecord, decode, encode, topic_for
from shared.envelope import Metadata, NewEvent

pytestmark = pytest.mark.unit


def _new(causation: str | None = None) -> NewEvent:
    pid = uuid4()
    return NewEvent(
        stream_id=f"participant-{pid}", stream_type="participant", agency_id="agency-a", participant_id=pid,
        event=ParticipantEnrolled(participant_id=pid, specialist_id="s-1", enrolled_at=datetime.now(UTC)),
        metadata=Metadata(correlation_id="corr-1", causation_id=causation, actor="s-1"),
    )


def test_binary_mode_headers_are_exactly_the_contract():
    new = _new(causation="cause-1")
    key, value, headers = encode(new, "intake")
    h = {k: v.decode() for k, v in headers}
    assert key == str(new.participant_id)
    assert h == {
        "ce_specversion": "1.0",
        "ce_id": str(new.event_id),
        "ce_source": "/waypoint/intake",
        "ce_type": "waypoint.intake.ParticipantEnrolled.v1",
        "ce_time": new.occurred_at.isoformat(),
        "ce_subject": str(new.participant_id),
        "content-type": "application/json",
        "ce_agencyid": "agency-a",
        "ce_correlationid": "corr-1",
        "ce_causationid": "cause-1",
        "ce_dataclassification": "restricted",
        "ce_dataregulation": "42CFRPart2",
    }
    assert orjson.loads(value)["specialist_id"] == "s-1"


def test_causation_header_is_absent_for_a_command_caused_event():
    _, _, headers = encode(_new(), "intake")
    assert "ce_causationid" not in dict(headers)


def test_a_record_decodes_back_into_the_same_event():
    new = _new()
    _, value, headers = encode(new, "intake")
    received = decode(topic_for("intake"), 0, 5, value, headers)
    assert received.event == new.event
    assert received.event_id == new.event_id
    assert received.participant_id == new.participant_id
    assert (received.agency_id, received.correlation_id, received.offset) == ("agency-a", "corr-1", 5)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v, h: (b"{not json", h), "JSONDecodeError"),
        (lambda v, h: (v, [(k, x) for k, x in h if k != "ce_type"]), "missing header ce_type"),
        (lambda v, h: (v, [(k, b"waypoint.intake.Nope.v1" if k == "ce_type" else x) for k, x in h]), "unknown"),
        (lambda v, h: (v, [(k, b"waypoint.intake.ParticipantEnrolled.v9" if k == "ce_type" else x) for k, x in h]),
         "version 9"),
        (lambda v, h: (b'{"participant_id": "not-a-uuid"}', h), "ValidationError"),
        (lambda v, h: (b"[1, 2]", h), "not a JSON object"),
        (lambda v, h: (v, [(k, b"0.3" if k == "ce_specversion" else x) for k, x in h]), "specversion"),
    ],
)
def test_poison_records_are_recognised_with_a_reason(mutate, reason):
    _, value, headers = encode(_new(), "intake")
    bad_value, bad_headers = mutate(value, headers)
    with pytest.raises(PoisonRecord, match=reason):
        decode("t", 0, 0, bad_value, bad_headers)
