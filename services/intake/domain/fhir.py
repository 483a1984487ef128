"""FHIR R4 (R4B models) export of one assessment: a QuestionnaireResponse and score Observations.

Pure: a scored assessment in, a ``collection`` Bundle out. Only coded answers and scores are
exported; free-text trigger and stressor descriptions stay in intake. Every resource carries the
Part 2 security labels (ETH, 42CFRPart2, confidentiality R).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from fhir.resources.R4B.bundle import Bundle

from services.intake.domain.assessment import ScoredAssessment

LOINC = "http://loinc.org"
WAYPOINT_CODES = "https://waypoint.example/fhir/CodeSystem/assessment-scores"
QUESTIONNAIRE_BASE = "https://waypoint.example/fhir/Questionnaire"
PHQ9_TOTAL_LOINC = "44261-6"
GAD7_TOTAL_LOINC = "70274-6"
SECURITY_LABELS = [
    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"},
    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "42CFRPart2"},
    {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"},
]
SURVEY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}


def _id(assessment_id: UUID, part: str) -> str:
    """Stable ids, so exporting the same assessment twice yields the same resources."""
    return str(uuid5(NAMESPACE_URL, f"waypoint:intake:assessment:{assessment_id}:{part}"))


def _integers(prefix: str, values: tuple[int, ...]) -> list[dict[str, Any]]:
    return [{"linkId": f"{prefix}-{n}", "answer": [{"valueInteger": v}]} for n, v in enumerate(values, 1)]


def _groups(scored: ScoredAssessment) -> list[dict[str, Any]]:
    c = scored.command
    groups = []
    if c.phq9:
        groups.append({"linkId": "phq9", "text": "PHQ-9", "item": _integers("phq9", c.phq9.answers)})
    if c.gad7:
        groups.append({"linkId": "gad7", "text": "GAD-7", "item": _integers("gad7", c.gad7.answers)})
    if c.bam:
        items = _integers("bam", c.bam.answers) + [
            {"linkId": f"bam-{code}", "answer": [{"valueInteger": v}]} for code, v in sorted(c.bam.substances.items())
        ]
        groups.append({"linkId": "bam", "text": "BAM", "item": items})
    if c.barc10:
        groups.append({"linkId": "barc10", "text": "BARC-10", "item": _integers("barc10", c.barc10.answers)})
    if c.asam:
        ratings = [{"linkId": f"asam-{d}", "answer": [{"valueInteger": v}]} for d, v in c.asam.model_dump().items()]
        groups.append({"linkId": "asam", "text": "ASAM dimension ratings", "item": ratings})
    return groups


def _observation(
    scored: ScoredAssessment, when: datetime, part: str, code: dict[str, Any], value: int, interpretation: str
) -> dict[str, Any]:
    c = scored.command
    return {
        "resourceType": "Observation",
        "id": _id(c.assessment_id, part),
        "meta": {"security": SECURITY_LABELS},
        "status": "final",
        "category": [SURVEY],
        "code": code,
        "subject": {"reference": f"Patient/{c.participant_id}"},
        "effectiveDateTime": when.isoformat(),
        "valueInteger": value,
        "interpretation": [{"text": interpretation}],
        "derivedFrom": [{"reference": f"urn:uuid:{_id(c.assessment_id, 'response')}"}],
    }


def _coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _observations(scored: ScoredAssessment, when: datetime) -> list[dict[str, Any]]:
    obs = []
    if scored.phq9:
        code = _coded(LOINC, PHQ9_TOTAL_LOINC, "PHQ-9 total score")
        obs.append(_observation(scored, when, "phq9-total", code, scored.phq9.total, scored.phq9.severity))
    if scored.gad7:
        code = _coded(LOINC, GAD7_TOTAL_LOINC, "GAD-7 total score")
        obs.append(_observation(scored, when, "gad7-total", code, scored.gad7.total, scored.gad7.severity))
    if scored.bam:
        for name, value in scored.bam.model_dump().items():
            code = _coded(WAYPOINT_CODES, f"bam-{name}", f"BAM {name.replace('_', ' ')} subscale")
            obs.append(_observation(scored, when, f"bam-{name}", code, value, "subscale"))
    if scored.barc10:
        code = _coded(WAYPOINT_CODES, "barc10-total", "BARC-10 total score")
        remission = "predicts sustained remission" if scored.barc10.predicts_sustained_remission else "below 47"
        obs.append(_observation(scored, when, "barc10-total", code, scored.barc10.total, remission))
    return obs


def assessment_bundle(scored: ScoredAssessment, completed_at: datetime) -> Bundle:
    """The assessment as a FHIR ``collection`` Bundle: one QuestionnaireResponse, then Observations."""
    c = scored.command
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": _id(c.assessment_id, "response"),
        "meta": {"security": SECURITY_LABELS},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{c.assessment_id}"},
        "questionnaire": f"{QUESTIONNAIRE_BASE}/waypoint-intake-assessment",
        "status": "completed",
        "subject": {"reference": f"Patient/{c.participant_id}"},
        "authored": completed_at.isoformat(),
        "item": _groups(scored),
    }
    resources = [response, *_observations(scored, completed_at)]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _id(c.assessment_id, "bundle"),
            "type": "collection",
            "timestamp": completed_at.isoformat(),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
        }
    )
