"""The referral inbox's pure rules: what the receiving agency may see and copy, and its decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.intake.domain.referral_inbox import (
    AcceptReferral,
    DeclineReferral,
    Referral,
    ReferralStatus,
    decide_accept,
    decide_decline,
    decide_withdraw,
    disclosed_packet,
    enrolment_order,
    require_visible_to,
)
from shared.catalogue.intake import (
    InformationCategory as C,
)
from shared.catalogue.intake import (
    ReferralAccepted,
    ReferralDeclined,
    ReferralDeclineReason,
    ReferralWithdrawalReason,
    ReferralWithdrawn,
)
from shared.domain import Conflict, InvalidCommand, NotFound

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PERSON = {"display_name": "Robin", "recovery_start_date": date(2026, 3, 1), "primary_substances": ["alcohol"],
          "time_zone": "America/New_York", "enrolled_at": NOW, "risk_level": "moderate",
          "risk_reasons": ["PHQ-9 total 11 >= 10"], "contact": {"phone": "+15550123"}}
SCORES = [{"completed_at": NOW, "instruments": ["phq9"], "scores": {"phq9": {"total": 11}}}]


def referral(info=(C.ENROLMENT, C.RISK_LEVEL), status=ReferralStatus.PENDING) -> Referral:
    return Referral(referral_id=uuid4(), participant_id=uuid4(), disclosing_agency_id="a", recipient_agency_id="b",
                    consent_id=uuid4(), information=info, status=status,
                    disclosed=disclosed_packet(info, PERSON, SCORES))


def test_the_packet_holds_only_the_consented_categories_and_never_contact_details():
    packet = disclosed_packet((C.RISK_LEVEL,), PERSON, SCORES)
    assert packet == {"risk_level": {"level": "moderate", "reasons": ["PHQ-9 total 11 >= 10"]}}
    full = disclosed_packet(tuple(C), PERSON, SCORES)
    assert set(full) == {"enrolment", "assessment_scores", "risk_level", "plan", "check_ins"}
    assert full["plan"] == {"held_by": "planning"} and full["check_ins"] == {"held_by": "monitoring"}
    assert full["enrolment"]["recovery_start_date"] == "2026-03-01"
    assert "+15550123" not in repr(full)


def test_accepting_copies_the_enrolment_details_only_when_consented():
    with_details = enrolment_order(referral(), AcceptReferral(specialist_id="s"), uuid4())
    assert (with_details.display_name, with_details.recovery_start_date, with_details.time_zone) == (
        "Robin", date(2026, 3, 1), "America/New_York")
    without = referral(info=(C.RISK_LEVEL,))
    with pytest.raises(InvalidCommand, match="display_name"):
        enrolment_order(without, AcceptReferral(), uuid4())
    order = enrolment_order(without, AcceptReferral(display_name="R."), uuid4())
    assert (order.display_name, order.recovery_start_date, order.primary_substances, order.contact) == (
        "R.", None, (), None)


def test_only_the_recipient_sees_a_referral():
    r = referral()
    assert require_visible_to(r, "b") is r
    with pytest.raises(NotFound):
        require_visible_to(r, "a")
    with pytest.raises(NotFound):
        require_visible_to(None, "b")


def test_accept_and_decline_need_a_pending_referral_and_accept_a_consent_that_still_allows_it():
    r = referral()
    assert decide_accept(r, True, NOW) == [ReferralAccepted(participant_id=r.participant_id, referral_id=r.referral_id,
                                                            recipient_agency_id="b", accepted_at=NOW)]
    with pytest.raises(NotFound):
        decide_accept(r, False, NOW)  # fail closed: like a referral that never existed
    declined = decide_decline(r, DeclineReferral(reason=ReferralDeclineReason.NO_CAPACITY, note="full"), NOW)
    assert isinstance(declined[0], ReferralDeclined) and "full" not in declined[0].model_dump_json()
    for done in (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED):
        with pytest.raises(Conflict):
            decide_accept(referral(status=done), True, NOW)
    with pytest.raises(NotFound):
        decide_decline(referral(status=ReferralStatus.WITHDRAWN), DeclineReferral(reason="other"), NOW)


def test_only_a_pending_referral_is_withdrawn():
    r = referral()
    (withdrawn,) = decide_withdraw(r, ReferralWithdrawalReason.CONSENT_REVOKED, NOW)
    assert isinstance(withdrawn, ReferralWithdrawn) and withdrawn.reason == "consent_revoked"
    assert decide_withdraw(referral(status=ReferralStatus.ACCEPTED), ReferralWithdrawalReason.CONSENT_REVOKED,
                           NOW) == []
