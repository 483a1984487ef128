from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from services.monitoring.domain.checkin import check_in_reasons, escalated_level, is_immediate
from shared.catalogue.monitoring import EscalationCode, EscalationReason

from .helpers import check_in

pytestmark = pytest.mark.unit

SIGN = {"plan_sign_id": str(uuid.uuid4())}


def codes(reasons: list[EscalationReason]) -> set[EscalationCode]:
    return {r.code for r in reasons}


@pytest.mark.parametrize(
    ("fields", "previous", "expected"),
    [
        ({"craving": 7}, [], set()),
        ({"craving": 8}, [], {EscalationCode.HIGH_CRAVING}),
        ({"craving": 9}, [], {EscalationCode.HIGH_CRAVING}),
        ({"craving": 10}, [], {EscalationCode.TOP_OF_SCALE_CRAVING}),
        ({"used_since_last_check_in": True}, [], {EscalationCode.USE_REPORTED}),
        ({"used_since_last_check_in": True, "using_now": True}, [], {EscalationCode.USING_NOW}),
        ({"warning_signs": [SIGN, SIGN]}, [], set()),
        ({"warning_signs": [SIGN, {"description": "not sleeping"}, SIGN]}, [], {EscalationCode.WARNING_SIGNS}),
        ({"craving": 5}, [2, 3], {EscalationCode.RISING_CRAVING}),
        ({"craving": 5}, [3, 3], set()),
        ({"craving": 3}, [5, 4], set()),
        ({"craving": 5}, [4], set()),
        ({"craving": 9}, [1, 5], {EscalationCode.HIGH_CRAVING, EscalationCode.RISING_CRAVING}),
        ({"craving": 0, "mood": 1}, [], set()),
    ],
)
def test_escalation_reasons_of_a_check_in(fields: dict[str, Any], previous: list[int], expected: set) -> None:
    assert codes(check_in_reasons(check_in(**fields), previous)) == expected


def test_reasons_state_the_numbers_that_triggered_them() -> None:
    reasons = check_in_reasons(check_in(craving=9, used_since_last_check_in=True, substances_used=["alcohol"]), [])
    details = " | ".join(r.detail for r in reasons)
    assert "craving 9/10" in details
    assert "alcohol" in details


@pytest.mark.parametrize(
    ("current", "reason_codes", "expected"),
    [
        ("low", [EscalationCode.HIGH_CRAVING], "high"),
        ("moderate", [EscalationCode.USE_REPORTED], "high"),
        ("low", [EscalationCode.WARNING_SIGNS], "moderate"),
        ("moderate", [EscalationCode.CONSECUTIVE_MISSES], "high"),
        ("high", [EscalationCode.RISING_CRAVING], "high"),
        ("high", [EscalationCode.USING_NOW], "critical"),
        ("low", [EscalationCode.HELP_REQUESTED], "critical"),
        ("critical", [EscalationCode.HIGH_CRAVING], "critical"),
        ("low", [EscalationCode.WARNING_SIGNS, EscalationCode.HIGH_CRAVING], "high"),
    ],
)
def test_escalated_level_never_goes_down(current: str, reason_codes: list, expected: str) -> None:
    reasons = [EscalationReason(code=c, detail="x") for c in reason_codes]
    assert escalated_level(current, reasons) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "immediate"),
    [
        (EscalationCode.TOP_OF_SCALE_CRAVING, True),
        (EscalationCode.USING_NOW, True),
        (EscalationCode.HELP_REQUESTED, True),
        (EscalationCode.HIGH_CRAVING, False),
        (EscalationCode.CONSECUTIVE_MISSES, False),
    ],
)
def test_which_reasons_are_immediate(code: EscalationCode, immediate: bool) -> None:
    assert is_immediate([EscalationReason(code=code, detail="x")]) is immediate


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"craving": -1}, "craving"),
        ({"craving": 11}, "craving"),
        ({"mood": 0}, "mood"),
        ({"mood": 6}, "mood"),
        ({"craving": "lots"}, "craving"),
        ({"high_risk_situations": ["bad_day"]}, "high_risk_situations"),
        ({"warning_signs": [{}]}, "warning_signs"),
        ({"coping_strategies": [{"description": "walk"}]}, "coping_strategies"),
        ({"substances_used": ["alcohol"]}, None),
        ({"using_now": True}, None),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_check_in_commands_reject_bad_input(fields: dict[str, Any], bad_field: str | None) -> None:
    with pytest.raises(ValidationError) as error:
        check_in(**fields)
    if bad_field is not None:
        assert error.value.errors()[0]["loc"][0] == bad_field


def test_a_check_in_names_plan_signs_by_id_and_counts_new_ones_without_their_words() -> None:
    sign_id = uuid.uuid4()
    cmd = check_in(
        warning_signs=[{"plan_sign_id": sign_id}, {"description": "skipping meals", "tag": "routine-breakdown"}],
        coping_strategies=[{"description": "called my sponsor", "helped": True}],
    )
    assert cmd.plan_warning_sign_ids == (sign_id,)
    assert cmd.new_warning_sign_count == 1
    assert [t.value for t in cmd.warning_sign_tags] == ["routine-breakdown"]
    assert cmd.coping_outcomes[0].helped is True


@pytest.mark.parametrize("free_text", ["fentanyl from Dave on 5th street", "alex's pills", "meth", "x"])
def test_substances_used_is_intakes_closed_vocabulary(free_text):
    with pytest.raises(ValidationError):
        check_in(used_since_last_check_in=True, substances_used=[free_text])
    assert check_in(used_since_last_check_in=True, substances_used=[" Alcohol "]).substances_used == ("alcohol",)


@pytest.mark.parametrize("free_text", ["fentanyl from Dave on 5th street", "meth"])
def test_a_relapses_substances_are_intakes_closed_vocabulary(free_text):
    from datetime import date

    from services.monitoring.domain.commands import ReportRelapse

    with pytest.raises(ValidationError):
        ReportRelapse(participant_id=uuid.uuid4(), relapse_id=uuid.uuid4(), relapsed_on=date(2026, 1, 2),
                      substances=[free_text], reported_by="specialist")
    ok = ReportRelapse(participant_id=uuid.uuid4(), relapse_id=uuid.uuid4(), relapsed_on=date(2026, 1, 2),
                       substances=["OPIOIDS"], reported_by="specialist")
    assert ok.substances == ("opioids",)
