from uuid import uuid4

import pytest
from intake_builders import NOW, assessment_order

from services.intake.domain.assessment import score_assessment
from services.intake.domain.fhir import assessment_bundle

pytestmark = pytest.mark.unit

PID = uuid4()
FULL = {
    "phq9": {"answers": [1, 2, 3, 0, 1, 2, 3, 0, 1]},
    "gad7": {"answers": [3, 3, 2, 2, 1, 1, 0]},
    "bam": {"answers": [1] * 17, "substances": {"7C": 2}},
    "barc10": {"answers": [5] * 10},
    "asam": {"d1": 0, "d2": 1, "d3": 2, "d4": 3, "d5": 4, "d6": 0},
    "risk_factors": {"triggers": [{"description": "the bar on my street", "situations": ["social_pressure"]}]},
}


def export(**sections):
    order = assessment_order(PID, **sections)
    return order, assessment_bundle(score_assessment(order), NOW).model_dump(mode="json")


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_export_is_a_collection_with_one_questionnaire_response_first():
    _, bundle = export(**FULL)
    assert bundle["type"] == "collection"
    assert bundle["entry"][0]["resource"]["resourceType"] == "QuestionnaireResponse"
    assert len(resources(bundle, "QuestionnaireResponse")) == 1


def test_the_questionnaire_response_keeps_every_raw_answer():
    _, bundle = export(**FULL)
    [qr] = resources(bundle, "QuestionnaireResponse")
    assert qr["status"] == "completed"
    assert qr["subject"] == {"reference": f"Patient/{PID}"}
    groups = {g["linkId"]: g["item"] for g in qr["item"]}
    assert [i["answer"][0]["valueInteger"] for i in groups["phq9"]] == [1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert [i["linkId"] for i in groups["gad7"]] == [f"gad7-{n}" for n in range(1, 8)]
    assert {"linkId": "bam-7C", "answer": [{"valueInteger": 2}]} in groups["bam"]
    assert {"linkId": "asam-d5", "answer": [{"valueInteger": 4}]} in groups["asam"]
    assert len(groups["barc10"]) == 10


@pytest.mark.parametrize(("instrument", "loinc", "total"), [("phq9", "44261-6", 13), ("gad7", "70274-6", 12)])
def test_phq9_and_gad7_totals_are_observations_with_their_loinc_codes(instrument, loinc, total):
    _, bundle = export(**FULL)
    matching = [o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == loinc]
    [obs] = matching
    assert obs["code"]["coding"][0]["system"] == "http://loinc.org"
    assert (obs["status"], obs["valueInteger"]) == ("final", total)
    [qr] = resources(bundle, "QuestionnaireResponse")
    assert obs["derivedFrom"] == [{"reference": f"urn:uuid:{qr['id']}"}]


def test_only_the_instruments_given_are_exported():
    _, bundle = export(gad7=FULL["gad7"])
    [obs] = resources(bundle, "Observation")
    assert obs["code"]["coding"][0]["code"] == "70274-6"
    [qr] = resources(bundle, "QuestionnaireResponse")
    assert [g["linkId"] for g in qr["item"]] == ["gad7"]


def test_every_resource_carries_the_part_2_security_labels():
    _, bundle = export(**FULL)
    for entry in bundle["entry"]:
        codes = {c["code"] for c in entry["resource"]["meta"]["security"]}
        assert codes == {"ETH", "42CFRPart2", "R"}


def test_free_text_never_leaves_in_the_export():
    _, bundle = export(**FULL)
    assert "the bar on my street" not in str(bundle)


def test_exporting_twice_yields_the_same_resources():
    order = assessment_order(PID, **FULL)
    first = assessment_bundle(score_assessment(order), NOW).model_dump(mode="json")
    second = assessment_bundle(score_assessment(order), NOW).model_dump(mode="json")
    assert first == second
