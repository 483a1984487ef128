from __future__ import annotations

from datetime import date

import pytest
from fhir.resources.R4B.bundle import Bundle

from services.planning.adapters.fhir import plan_bundle
from services.planning.domain.assignments import decide_assign_module
from services.planning.domain.commands import AssignEducationModule

from .planning_builders import PARTICIPANT, SPECIALIST, at, revise, seeded, state_of

pytestmark = pytest.mark.unit


def exported(status: str = "active") -> dict:
    history = seeded(barc10_total=30)
    seeded_document = state_of(history).document
    assert seeded_document is not None
    kept = [g.model_dump(mode="json") for g in seeded_document.content.goals]
    history = revise(
        history,
        at(1),
        status=status,
        sections={
            "warning_signs": [{"text": "Short temper at work"}],
            "goals": [
                *kept,
                {"description": "Attend two meetings a week", "status": "active", "target_date": "2026-06-01"},
            ],
            "support_network": [{"name": "Robin Example", "role": "sponsor", "may_contact": True}],
        },
    )
    assign = AssignEducationModule(participant_id=PARTICIPANT, module="coping-with-cravings", assigned_by=SPECIALIST)
    history += decide_assign_module(state_of(history), assign, at(2))
    state = state_of(history)
    assert state.plan_id is not None and state.document is not None
    return plan_bundle(PARTICIPANT, state.plan_id, state.version, state.document, at(2))


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_export_is_a_valid_fhir_bundle_with_one_care_plan_and_its_goals() -> None:
    bundle = exported()
    Bundle.model_validate(bundle)  # round-trips through the FHIR model's validation
    (care_plan,) = resources(bundle, "CarePlan")
    goals = resources(bundle, "Goal")
    assert care_plan["status"] == "active" and care_plan["intent"] == "plan"
    assert care_plan["subject"]["reference"] == f"Patient/{PARTICIPANT}"
    assert care_plan["meta"]["versionId"] == "3"
    assert {g["reference"] for g in care_plan["goal"]} == {f"urn:uuid:{g['id']}" for g in goals}
    assert sorted(g["lifecycleStatus"] for g in goals) == ["active", "proposed"]
    dated = next(g for g in goals if g["lifecycleStatus"] == "active")
    assert dated["target"][0]["dueDate"] == str(date(2026, 6, 1))


def test_every_resource_carries_the_substance_use_security_labels() -> None:
    for entry in exported()["entry"]:
        codes = {s["code"] for s in entry["resource"]["meta"]["security"]}
        assert codes == {"ETH", "42CFRPart2", "R"}


def test_strategies_education_and_warning_signs_appear_and_support_contacts_do_not() -> None:
    bundle = exported()
    (care_plan,) = resources(bundle, "CarePlan")
    codes = [a["detail"]["code"]["text"] for a in care_plan["activity"]]
    assert "urges_and_temptations" in codes and "coping-with-cravings" in codes
    assert care_plan["note"] == [{"text": "Early warning sign: Short temper at work"}]
    assert "Robin Example" not in str(bundle)


@pytest.mark.parametrize(
    ("status", "fhir_status"), [("draft", "draft"), ("on-hold", "on-hold"), ("revoked", "revoked")]
)
def test_plan_statuses_map_one_to_one(status: str, fhir_status: str) -> None:
    if status == "on-hold":
        history = revise(revise(seeded(), at(1), status="active"), at(2), status="on-hold")
    elif status == "draft":
        history = seeded()
    else:
        history = revise(seeded(), at(1), status=status)
    state = state_of(history)
    assert state.plan_id is not None and state.document is not None
    (care_plan,) = resources(plan_bundle(PARTICIPANT, state.plan_id, state.version, state.document, at(3)), "CarePlan")
    assert care_plan["status"] == fhir_status
