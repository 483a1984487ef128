"""Export of a plan version as FHIR R4 (R4B models): a Bundle holding a CarePlan and its Goals.

Statuses map one to one (Waypoint's plan and goal vocabularies are FHIR subsets). Every resource
carries the SUD security labels (ETH, 42CFRPart2, confidentiality R). Support contacts are left
out: they are third parties, and sharing them needs their own basis, not the participant's plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.careplan import CarePlan, CarePlanActivity, CarePlanActivityDetail
from fhir.resources.R4B.goal import Goal, GoalTarget

from services.planning.domain.education import CATALOGUE
from services.planning.domain.recorded import PlanDocument
from shared.catalogue.planning import PlanStatus

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SECURITY = [
    {"system": ACT_CODE, "code": "ETH", "display": "substance abuse information sensitivity"},
    {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
]
WAYPOINT = "https://waypoint.example/fhir/CodeSystem"

_ACTIVITY_STATUS = {
    PlanStatus.DRAFT: "not-started",
    PlanStatus.ACTIVE: "in-progress",
    PlanStatus.ON_HOLD: "on-hold",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.REVOKED: "cancelled",
}
_REFERRAL_STATUS = {
    "suggested": "not-started",
    "attending": "in-progress",
    "declined": "cancelled",
    "stopped": "stopped",
}


def _activity(system: str, code: str, description: str, status: str, **extra: Any) -> CarePlanActivity:
    detail = {
        "code": {"coding": [{"system": f"{WAYPOINT}/{system}", "code": code}], "text": code},
        "description": description,
        "status": status,
        **extra,
    }
    return CarePlanActivity(detail=CarePlanActivityDetail(**detail))


def _activities(document: PlanDocument) -> list[CarePlanActivity]:
    content, status = document.content, _ACTIVITY_STATUS[document.status]
    found = [
        _activity("situation", s.category, f"{s.description} Strategy: {c.text}", status)
        for s in content.high_risk_situations
        for c in s.strategies
    ]
    found += [_activity("plan-item", "healthy-alternative", a.activity, status) for a in content.healthy_alternatives]
    found += [
        _activity("plan-item", "daily-routine", r.activity, status, scheduledString=f"daily at {r.at:%H:%M}")
        for r in content.daily_routine
    ]
    found += [
        _activity("support-group", g.kind, g.name or g.kind, _REFERRAL_STATUS[g.status]) for g in content.support_groups
    ]
    for a in document.education:
        module = CATALOGUE.get(a.module)
        done = "completed" if a.completed_at else "scheduled"
        found.append(_activity("education-module", a.module, module.title if module else a.module, done))
    return found


def plan_bundle(
    participant_id: UUID, plan_id: UUID, version: int, document: PlanDocument, recorded_at: datetime
) -> dict[str, Any]:
    """The plan version as a FHIR ``collection`` Bundle (JSON-ready dict)."""
    meta = {"versionId": str(version), "lastUpdated": recorded_at, "security": SECURITY}
    subject = {"reference": f"Patient/{participant_id}"}
    goals = [
        Goal(
            id=str(g.id),
            meta=meta,
            lifecycleStatus=g.status.value,
            description={"text": g.description},
            subject=subject,
            target=[GoalTarget(dueDate=g.target_date)] if g.target_date else None,
        )
        for g in document.content.goals
    ]
    care_plan = CarePlan(
        id=str(plan_id),
        meta=meta,
        status=document.status.value,
        intent="plan",
        title="Relapse-prevention plan",
        subject=subject,
        goal=[{"reference": f"urn:uuid:{g.id}"} for g in goals] or None,
        activity=_activities(document) or None,
        note=[{"text": f"Early warning sign: {w.text}"} for w in document.content.warning_signs] or None,
    )
    entries = [BundleEntry(fullUrl=f"urn:uuid:{r.id}", resource=r) for r in (care_plan, *goals)]
    bundle = Bundle(type="collection", timestamp=recorded_at, entry=entries)
    result: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return result
