from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from intake_builders import NOW, consent_order, enrol_order
from pydantic import ValidationError

from services.intake.domain.consent import consent_aggregate, decide_grant
from services.intake.domain.participant import decide_enrol, participant_aggregate
from services.intake.domain.referral import (
    NOT_FOUND_MESSAGE,
    REDISCLOSURE_NOTICE,
    DisclosureEntry,
    ReferralForm,
    RequestReferral,
    decide_request_referral,
    ledger_entry,
    within_years,
)
from shared.catalogue.intake import ConsentRevoked, ParticipantDischarged, ReferralRequested
from shared.domain import Conflict, NotFound

pytestmark = pytest.mark.unit


def setting(**consent_terms):
    enrol = enrol_order()
    pid = enrol.participant_id
    participant_events = decide_enrol(participant_aggregate.initial(), enrol, NOW)
    order = consent_order(pid, **consent_terms)
    consent_events = decide_grant(consent_aggregate.initial(), order, NOW)
    return pid, participant_events, order.consent_id, consent_events


def referral(pid, **overrides):
    data = {
        "participant_id": pid,
        "recipient_agency_id": "agency-mh",
        "purpose": "mental_health_referral",
        "information": ["risk_level"],
        "note": "Robin prefers mornings",
        "disclosing_agency_id": "agency-a",
        **overrides,
    }
    return RequestReferral.model_validate(data)


def decide(participant_events, consent_streams, cmd, now=NOW):
    consents = [consent_aggregate.fold(events) for events in consent_streams]
    return decide_request_referral(participant_aggregate.fold(participant_events), consents, cmd, now)


def test_a_covered_referral_names_its_consent_and_carries_the_part_2_notice():
    pid, p_events, consent_id, c_events = setting()
    cmd = referral(pid)
    [e] = decide(p_events, [c_events], cmd)
    assert e == ReferralRequested(
        participant_id=pid,
        referral_id=cmd.referral_id,
        consent_id=consent_id,
        recipient_agency_id="agency-mh",
        purpose="mental_health_referral",
        information=("risk_level",),
        redisclosure_notice=REDISCLOSURE_NOTICE,
        requested_at=NOW,
    )
    assert "42 CFR part 2" in e.redisclosure_notice
    assert "Robin" not in e.model_dump_json()


def _refusal(participant_events, consent_streams, cmd, now=NOW) -> tuple[str, int, str, str | None]:
    with pytest.raises(NotFound) as raised:
        decide(participant_events, consent_streams, cmd, now)
    err = raised.value
    return type(err).__name__, err.status, err.message, err.field


def test_no_consent_and_no_such_participant_are_refused_identically():
    pid, p_events, consent_id, c_events = setting()
    revoked = [*c_events, ConsentRevoked(participant_id=pid, consent_id=consent_id, revoked_at=NOW)]
    refusals = {
        _refusal([], [], referral(uuid4())),  # nobody
        _refusal(p_events, [], referral(pid)),  # no consent at all
        _refusal(p_events, [revoked], referral(pid)),  # revoked
        _refusal(p_events, [c_events], referral(pid, recipient_agency_id="agency-x")),  # other recipient
        _refusal(p_events, [c_events], referral(pid, purpose="payment")),  # other purpose
        _refusal(p_events, [c_events], referral(pid, information=["plan"])),  # more than consented
        _refusal(p_events, [c_events], referral(pid), NOW + timedelta(days=365)),  # expired
    }
    assert refusals == {("NotFound", 404, NOT_FOUND_MESSAGE, "participant_id")}


def test_another_participants_consent_does_not_cover_this_one():
    pid, p_events, _, _ = setting()
    _, _, _, someone_elses = setting()
    with pytest.raises(NotFound):
        decide(p_events, [someone_elses], referral(pid))


def test_the_newest_covering_consent_is_the_one_referenced():
    pid, p_events, consent_id, c_events = setting()
    amended = decide_grant(consent_aggregate.fold(c_events), consent_order(pid, consent_id=consent_id), NOW)
    other = decide_grant(consent_aggregate.initial(), consent_order(pid), NOW)
    [e] = decide(p_events, [other, [*c_events, *amended]], referral(pid))
    assert e.consent_id == consent_id


def test_a_referral_for_a_discharged_participant_is_a_conflict_when_a_consent_still_covers_it():
    pid, p_events, _, c_events = setting()
    discharged = [*p_events, ParticipantDischarged(participant_id=pid, reason="other", discharged_at=NOW)]
    with pytest.raises(Conflict):
        decide(discharged, [c_events], referral(pid))


def test_a_consent_ending_at_discharge_no_longer_covers_after_discharge():
    pid, p_events, _, c_events = setting(expiry={"event": "discharge"})
    discharged = [*p_events, ParticipantDischarged(participant_id=pid, reason="other", discharged_at=NOW)]
    with pytest.raises(NotFound):
        decide(discharged, [c_events], referral(pid))


def test_requesting_the_same_referral_twice_is_a_conflict():
    pid, p_events, _, c_events = setting()
    cmd = referral(pid)
    first = decide(p_events, [c_events], cmd)
    with pytest.raises(Conflict) as raised:
        decide([*p_events, *first], [c_events], cmd)
    assert raised.value.field == "referral_id"


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"purpose": "marketing"}, ("purpose",)),
        ({"information": []}, ("information",)),
        ({"recipient_agency_id": ""}, ("recipient_agency_id",)),
        ({"fax": "123"}, ("fax",)),
    ],
)
def test_a_malformed_referral_is_rejected_naming_the_field(overrides, location):
    with pytest.raises(ValidationError) as raised:
        referral(uuid4(), **overrides)
    assert location in [tuple(e["loc"]) for e in raised.value.errors()]


def test_every_referral_becomes_a_ledger_entry_with_date_recipient_purpose_and_consent():
    pid, p_events, consent_id, c_events = setting()
    [e] = decide(p_events, [c_events], referral(pid))
    entry = ledger_entry(e)
    assert (entry.participant_id, entry.disclosed_at, entry.recipient_agency_id) == (pid, NOW, "agency-mh")
    assert (entry.purpose, entry.information, entry.consent_id) == (
        "mental_health_referral",
        ("risk_level",),
        consent_id,
    )


def _entry(at: datetime) -> DisclosureEntry:
    return DisclosureEntry(uuid4(), uuid4(), at, "agency-mh", "treatment", ("risk_level",), uuid4())


@pytest.mark.parametrize(
    ("now", "years", "kept"),
    [
        (datetime(2026, 11, 26, tzinfo=UTC), 3, 2),
        (datetime(2026, 11, 26, tzinfo=UTC), 6, 3),
        (datetime(2028, 2, 29, tzinfo=UTC), 3, 1),
    ],
)
def test_the_ledger_answers_for_the_last_three_and_six_years_newest_first(now, years, kept):
    entries = [
        _entry(datetime(2021, 1, 1, tzinfo=UTC)),
        _entry(datetime(2026, 1, 1, tzinfo=UTC)),
        _entry(datetime(2023, 12, 1, tzinfo=UTC)),
    ]
    result = within_years(entries, years, now)
    assert len(result) == kept
    assert [e.disclosed_at for e in result] == sorted((e.disclosed_at for e in result), reverse=True)


def test_a_consent_naming_another_disclosing_agency_covers_nothing_and_is_refused_like_no_consent():
    pid, p_events, _, c_events = setting()  # the consent lets agency-a disclose
    with pytest.raises(NotFound) as other_agency:
        decide(p_events, [c_events], referral(pid, disclosing_agency_id="agency-b"))
    with pytest.raises(NotFound) as no_consent:
        decide(p_events, [], referral(pid))
    assert (other_agency.value.message, other_agency.value.field) == (no_consent.value.message, no_consent.value.field)


def test_the_disclosing_agency_of_a_referral_is_never_taken_from_the_form():
    with pytest.raises(ValidationError) as raised:
        ReferralForm.model_validate(
            {
                "recipient_agency_id": "agency-mh",
                "purpose": "treatment",
                "information": ["risk_level"],
                "disclosing_agency_id": "agency-a",
            }
        )
    assert ("disclosing_agency_id",) in [tuple(e["loc"]) for e in raised.value.errors()]
