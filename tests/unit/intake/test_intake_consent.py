from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest
from intake_builders import NOW, consent_order, when
from pydantic import ValidationError

from services.intake.domain.consent import (
    ConsentStatus,
    check_disclosing_agency,
    consent_aggregate,
    covers,
    decide_draft,
    decide_expire,
    decide_grant,
    decide_revoke,
    decide_sign,
    effective_status,
)
from services.intake.domain.consent_terms import DraftConsent, GrantConsent, RevokeConsent, SignConsent
from shared.catalogue.intake import ConsentDrafted, ConsentExpired, ConsentGranted, ConsentRevoked
from shared.domain import Conflict, InvalidCommand, NotFound

pytestmark = pytest.mark.unit
C = consent_aggregate
PID = uuid4()
SIGNATURE = {"signed_by": "Robin Example", "method": "electronic", "signed_on": "2026-11-26"}


def granted(**overrides):
    order = consent_order(PID, **overrides)
    return order, decide_grant(C.initial(), order, NOW)


def test_granting_a_consent_publishes_its_terms_but_not_the_signature():
    order, [e] = granted()
    assert isinstance(e, ConsentGranted)
    assert (e.participant_id, e.consent_id, e.version) == (PID, order.consent_id, 1)
    assert (e.disclosing_agency_id, e.recipient_kind, e.recipient_agency_ids) == (
        "agency-a",
        "named_agency",
        ("agency-mh",),
    )
    assert e.purposes == ("mental_health_referral",)
    assert e.information == ("assessment_scores", "risk_level")
    assert (e.expires_on, e.granted_at) == (date(2027, 6, 30), NOW)
    assert "Robin" not in e.model_dump_json()


def test_granting_again_makes_the_next_version_with_the_new_terms():
    order, events = granted()
    amended = consent_order(PID, consent_id=order.consent_id, purposes=["care_coordination"])
    [e] = when(C, events, decide_grant, amended)
    assert (e.version, e.purposes) == (2, ("care_coordination",))


def test_a_draft_becomes_active_when_signed_with_its_drafted_terms():
    order = DraftConsent.model_validate(consent_order(PID).model_dump(exclude={"signature"}))
    [drafted] = decide_draft(C.initial(), order, NOW)
    assert isinstance(drafted, ConsentDrafted)
    assert C.fold([drafted]).status is ConsentStatus.DRAFT
    sign = SignConsent(participant_id=PID, consent_id=order.consent_id, signature=SIGNATURE)
    [e] = when(C, [drafted], decide_sign, sign)
    assert isinstance(e, ConsentGranted)
    assert (e.version, e.recipient_agency_ids, e.expires_on) == (1, ("agency-mh",), date(2027, 6, 30))
    assert C.fold([drafted, e]).status is ConsentStatus.ACTIVE


def test_a_draft_covers_nothing():
    order = DraftConsent.model_validate(consent_order(PID).model_dump(exclude={"signature"}))
    state = C.fold(decide_draft(C.initial(), order, NOW))
    assert not covers(
        state,
        disclosing_agency_id="agency-a",
        recipient_agency_id="agency-mh",
        purpose="mental_health_referral",
        information=("risk_level",),
        at=NOW,
    )


def test_only_a_draft_can_be_signed():
    order, events = granted()
    with pytest.raises(Conflict):
        when(C, events, decide_sign, SignConsent(participant_id=PID, consent_id=order.consent_id, signature=SIGNATURE))


def test_revoking_an_active_consent_ends_it():
    order, events = granted()
    [e] = when(C, events, decide_revoke, RevokeConsent(participant_id=PID, consent_id=order.consent_id))
    assert e == ConsentRevoked(participant_id=PID, consent_id=order.consent_id, revoked_at=NOW)
    assert C.fold([*events, e]).status is ConsentStatus.REVOKED


@pytest.mark.parametrize(
    "decide",
    [
        lambda s, cid: decide_revoke(s, RevokeConsent(participant_id=PID, consent_id=cid), NOW),
        lambda s, cid: decide_grant(s, consent_order(PID, consent_id=cid), NOW),
    ],
)
def test_a_revoked_consent_cannot_be_revoked_again_nor_revived(decide):
    order, events = granted()
    revoked = [*events, ConsentRevoked(participant_id=PID, consent_id=order.consent_id, revoked_at=NOW)]
    with pytest.raises(Conflict):
        decide(C.fold(revoked), order.consent_id)


def test_another_participants_consent_is_not_found():
    order, events = granted()
    with pytest.raises(NotFound):
        when(C, events, decide_revoke, RevokeConsent(participant_id=uuid4(), consent_id=order.consent_id))
    with pytest.raises(NotFound):
        when(C, [], decide_revoke, RevokeConsent(participant_id=PID, consent_id=order.consent_id))


def test_an_expiry_date_in_the_past_is_invalid():
    with pytest.raises(InvalidCommand) as raised:
        granted(expiry={"on": "2026-11-25"})
    assert raised.value.field == "expiry.on"


def test_a_signature_dated_in_the_future_is_invalid():
    with pytest.raises(InvalidCommand) as raised:
        granted(signature={**SIGNATURE, "signed_on": "2026-11-27"})
    assert raised.value.field == "signature.signed_on"


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (datetime(2027, 6, 30, 23, 59, tzinfo=NOW.tzinfo), ConsentStatus.ACTIVE),  # valid through that day
        (datetime(2027, 7, 1, 0, 0, tzinfo=NOW.tzinfo), ConsentStatus.EXPIRED),
    ],
)
def test_a_consent_expires_after_its_expiry_date_even_before_anyone_records_it(at, status):
    _, events = granted()
    assert effective_status(C.fold(events), at) is status


def test_the_expiry_sweep_records_expiry_once():
    order, events = granted()
    later = NOW + timedelta(days=400)
    [e] = decide_expire(C.fold(events), later)
    assert e == ConsentExpired(participant_id=PID, consent_id=order.consent_id, expired_at=later)
    assert decide_expire(C.fold([*events, e]), later) == []
    assert decide_expire(C.fold(events), NOW) == []


def test_a_consent_that_ends_at_discharge_expires_when_the_participant_is_discharged():
    _, events = granted(expiry={"event": "discharge"})
    state = C.fold(events)
    assert decide_expire(state, NOW, participant_discharged=False) == []
    assert len(decide_expire(state, NOW, participant_discharged=True)) == 1


COVERAGE = [
    ({}, {}, True),
    # the consent authorizes the agency it names as discloser, and no other
    ({}, {"disclosing_agency_id": "agency-b"}, False),
    ({}, {"recipient_agency_id": "agency-other"}, False),
    ({}, {"purpose": "payment"}, False),
    ({}, {"information": ("plan",)}, False),
    ({}, {"information": ("risk_level", "assessment_scores")}, True),
    ({}, {"at": datetime(2027, 7, 1, tzinfo=NOW.tzinfo)}, False),
    ({"expiry": {"event": "discharge"}}, {"participant_discharged": True}, False),
    ({"recipients": {"kind": "named_agency", "agency_ids": ["a1", "agency-mh"]}}, {}, True),
    # a treating-providers consent covers any recipient, for treatment, payment and operations only
    (
        {"recipients": {"kind": "treating_providers"}, "purposes": ["treatment"]},
        {"recipient_agency_id": "any-clinic", "purpose": "treatment"},
        True,
    ),
    (
        {"recipients": {"kind": "treating_providers"}, "purposes": ["treatment"]},
        {"recipient_agency_id": "any-clinic", "purpose": "payment"},
        False,
    ),
    (
        {"recipients": {"kind": "treating_providers", "agency_ids": ["clinic-1"]}, "purposes": ["treatment"]},
        {"recipient_agency_id": "clinic-2", "purpose": "treatment"},
        False,
    ),
]


@pytest.mark.parametrize(("terms", "request_", "covered"), COVERAGE)
def test_coverage_needs_an_active_consent_for_that_recipient_purpose_and_information(terms, request_, covered):
    _, events = granted(**terms)
    ask = {
        "disclosing_agency_id": "agency-a",
        "recipient_agency_id": "agency-mh",
        "purpose": "mental_health_referral",
        "information": ("risk_level",),
        "at": NOW,
        **request_,
    }
    assert covers(C.fold(events), **ask) is covered


REQUIRED = [
    "disclosing_agency_id",
    "information",
    "recipients",
    "purposes",
    "right_to_revoke_acknowledged",
    "expiry",
    "signature",
    "participant_id",
]


@pytest.mark.parametrize("element", REQUIRED)
def test_a_consent_missing_a_required_element_is_rejected_naming_it(element):
    data = consent_order(PID).model_dump(mode="json")
    del data[element]
    with pytest.raises(ValidationError) as raised:
        GrantConsent.model_validate(data)
    assert (element,) in [tuple(e["loc"]) for e in raised.value.errors()]


def test_every_missing_element_is_named_at_once():
    with pytest.raises(ValidationError) as raised:
        GrantConsent.model_validate({"participant_id": str(PID)})
    named = {e["loc"][0] for e in raised.value.errors()}
    assert set(REQUIRED) - {"participant_id"} <= named


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"right_to_revoke_acknowledged": False}, ("right_to_revoke_acknowledged",)),
        ({"expiry": {}}, ("expiry",)),
        ({"expiry": {"event": "graduation"}}, ("expiry", "event")),
        ({"recipients": {"kind": "named_agency"}}, ("recipients", "agency_ids")),
        ({"recipients": {"kind": "everyone"}}, ("recipients", "kind")),
        ({"purposes": []}, ("purposes",)),
        ({"purposes": ["marketing"]}, ("purposes", 0)),
        ({"information": []}, ("information",)),
        ({"recipients": {"kind": "treating_providers"}, "purposes": ["mental_health_referral"]}, ("purposes",)),
        ({"signature": {**SIGNATURE, "signed_by": ""}}, ("signature", "signed_by")),
        ({"signature": {**SIGNATURE, "method": "verbal"}}, ("signature", "method")),
        ({"signature": {"signed_by": "R", "method": "electronic"}}, ("signature", "signed_on")),
    ],
)
def test_a_malformed_consent_element_is_rejected_naming_it(overrides, location):
    with pytest.raises(ValidationError) as raised:
        consent_order(PID, **overrides)
    assert location in [tuple(e["loc"]) for e in raised.value.errors()]


def test_a_consent_is_recorded_only_by_the_agency_it_authorizes_to_disclose():
    order = consent_order(PID)  # disclosing agency "agency-a"
    check_disclosing_agency(order, "agency-a")
    with pytest.raises(InvalidCommand) as raised:
        check_disclosing_agency(order, "agency-b")
    assert raised.value.field == "disclosing_agency_id"
