"""Planning reacting to intake's and monitoring's events, on real Kafka and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from planning_support import AGENCY, all_planning_records, event_names, payload, planning_records, publish

from services.planning.projections.current_plan import rebuild_current_plans
from shared.catalogue.intake import (
    AssessmentCompleted,
    BamResult,
    Barc10Result,
    DischargeReason,
    ParticipantDischarged,
    ParticipantEnrolled,
    RiskLevel,
    RiskLevelChanged,
    TriggerRef,
)
from shared.catalogue.intake import HighRiskSituation as Situation
from shared.catalogue.monitoring import RelapseReported
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import RunningService

pytestmark = pytest.mark.integration

AUTH = bearer(sub="specialist-int", agency_id=AGENCY)
#: reads plans whoever's caseload they are on (some of these participants were never enrolled)
SUPERVISOR = bearer(sub="supervisor-int", agency_id=AGENCY, roles=("supervisor",))


def assessed(participant_id: UUID, risk: str, **extra: Any) -> AssessmentCompleted:
    return AssessmentCompleted(
        participant_id=participant_id,
        assessment_id=extra.pop("assessment_id", uuid.uuid4()),
        instruments=("BAM", "BARC-10"),
        risk_level=risk,
        completed_at=datetime.now(UTC),
        **extra,
    )


async def plan_of(planning: RunningService, participant_id: UUID, **params: Any) -> dict[str, Any] | None:
    response = await planning.client.get(f"/v1/participants/{participant_id}/plan", headers=SUPERVISOR, params=params)
    return response.json() if response.status_code == 200 else None


async def a_seeded_plan(planning: RunningService, bootstrap: str, risk: str = "low") -> tuple[UUID, dict[str, Any]]:
    pid = uuid.uuid4()
    enrolment = ParticipantEnrolled(participant_id=pid, specialist_id="specialist-int", enrolled_at=datetime.now(UTC))
    await publish(bootstrap, "intake", enrolment)
    await publish(bootstrap, "intake", assessed(pid, risk))
    plan = await eventually(lambda: plan_of(planning, pid), message="the seeded draft plan")
    return pid, plan


async def test_an_assessment_delivered_twice_drafts_exactly_one_plan(planning, kafka_bootstrap) -> None:
    pid, trigger = uuid.uuid4(), uuid.uuid4()
    completed = assessed(
        pid,
        "moderate",
        triggers=(TriggerRef(trigger_id=trigger, situations=(Situation.SOCIAL_PRESSURE,)),),
        bam=BamResult(use=0, risk_factors=10, protective_factors=9),
        barc10=Barc10Result(total=40, predicts_sustained_remission=False),
    )
    await publish(kafka_bootstrap, "intake", completed, times=2)  # the same record, redelivered
    await publish(kafka_bootstrap, "intake", completed)  # the same fact under a new event id
    # A later fall in risk (same partition, so handled last) tells us all three deliveries were handled.
    await publish(kafka_bootstrap, "intake", assessed(pid, "low"))

    async def settled() -> dict[str, Any] | None:
        plan = await plan_of(planning, pid)
        return plan if plan and plan["risk_level"] == "low" else None

    plan = await eventually(settled, message="every delivery to be handled")

    created = await planning_records(kafka_bootstrap, pid, "PlanCreated")
    assert len(created) == 1
    assert payload(created[0])["source_assessment_id"] == str(completed.assessment_id)
    assert (plan["status"], plan["version"]) == ("draft", 1)
    (situation,) = plan["sections"]["high_risk_situations"]
    assert situation["category"] == "social_pressure" and situation["trigger_id"] == str(trigger)
    assert len(plan["sections"]["goals"]) == 2  # weak BAM protective factors, BARC-10 below 47
    stream = await planning.runtime.store.read_stream(f"plan-{pid}")
    assert [e.event_type for e in stream] == [
        "PlanCreated",
        "PlanVersionRecorded",
        "PlanRiskLevelNoted",  # moderate, from the seeding assessment
        "PlanRiskLevelNoted",  # low, from the later one
    ]


async def test_a_risk_rise_asks_for_exactly_one_review(planning, kafka_bootstrap) -> None:
    pid, _ = await a_seeded_plan(planning, kafka_bootstrap, risk="low")
    later = assessed(pid, "high")
    await publish(kafka_bootstrap, "intake", later)
    change = RiskLevelChanged(
        participant_id=pid,
        assessment_id=later.assessment_id,
        previous_level=RiskLevel.LOW,
        risk_level=RiskLevel.HIGH,
        reasons=("BAM risk subscale 14 >= 12",),
        changed_at=datetime.now(UTC),
    )
    await publish(kafka_bootstrap, "intake", change, times=2)
    await publish(kafka_bootstrap, "intake", change.model_copy(update={"assessment_id": uuid.uuid4()}))
    # A later fall (same partition, so handled after the rest) tells us every delivery above was handled.
    fall = assessed(pid, "low")
    await publish(kafka_bootstrap, "intake", fall)

    async def settled() -> dict[str, Any] | None:
        plan = await plan_of(planning, pid)
        return plan if plan and plan["risk_level"] == "low" else None

    plan = await eventually(settled, message="the fall in risk to be noted")
    stream = await planning.runtime.store.read_stream(f"plan-{pid}")
    assert [e.event_type for e in stream].count("PlanReviewRequested") == 1
    reviews = await planning_records(kafka_bootstrap, pid, "PlanReviewRequested")
    assert len(reviews) == 1
    review = payload(reviews[0])
    assert (review["reason"], review["urgency"], review["risk_level"], review["previous_risk_level"]) == (
        "risk-level-rose",
        "routine",
        "high",
        "low",
    )
    assert [r["urgency"] for r in plan["open_reviews"]] == ["routine"]

    # The read model, open reviews and risk baseline included, comes back from the event store alone.
    async with planning.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM plans WHERE participant_id = $1", pid)
        await rebuild_current_plans(conn, planning.runtime.store, planning.runtime.keys)
    rebuilt = await plan_of(planning, pid)
    assert rebuilt is not None
    assert {k: v for k, v in rebuilt.items() if k != "updated_at"} == {
        k: v for k, v in plan.items() if k != "updated_at"
    }


async def test_a_reported_relapse_asks_for_an_urgent_review(planning, kafka_bootstrap) -> None:
    pid, _ = await a_seeded_plan(planning, kafka_bootstrap)
    relapse = RelapseReported(
        participant_id=pid,
        relapse_id=uuid.uuid4(),
        relapsed_on=date.today(),
        reported_by="specialist",
        reported_at=datetime.now(UTC),
    )
    await publish(kafka_bootstrap, "monitoring", relapse, times=2)
    (review,) = await planning_records(kafka_bootstrap, pid, "PlanReviewRequested")
    assert (payload(review)["reason"], payload(review)["urgency"]) == ("relapse-reported", "urgent")


async def test_discharge_completes_the_plan(planning, kafka_bootstrap) -> None:
    pid, _ = await a_seeded_plan(planning, kafka_bootstrap)
    discharged = ParticipantDischarged(
        participant_id=pid, reason=DischargeReason.PLAN_COMPLETED, discharged_at=datetime.now(UTC)
    )
    await publish(kafka_bootstrap, "intake", discharged)

    async def completed() -> dict[str, Any] | None:
        plan = await plan_of(planning, pid)
        return plan if plan and plan["status"] == "completed" else None

    plan = await eventually(completed, message="the completed plan")
    assert plan["version"] == 2
    (changed,) = await planning_records(kafka_bootstrap, pid, "PlanStatusChanged")
    assert (payload(changed)["to_status"], payload(changed)["reason"]) == ("completed", "participant-discharged")


async def test_as_of_returns_the_version_in_force_at_that_moment(planning, kafka_bootstrap) -> None:
    pid, _ = await a_seeded_plan(planning, kafka_bootstrap)
    moments = []
    for i, text in enumerate(["Sleeping badly", "Skipping meetings"]):
        moments.append(datetime.now(UTC))
        response = await planning.client.put(
            f"/v1/participants/{pid}/plan",
            headers={**AUTH, "If-Match": f'"{i + 1}"'},
            json={"sections": {"warning_signs": [{"text": text}]}},
        )
        assert response.status_code == 200, response.text
    after = datetime.now(UTC)
    versions = [await plan_of(planning, pid, as_of=m.isoformat()) for m in (*moments, after)]
    assert [v["version"] if v else None for v in versions] == [1, 2, 3]
    assert [[w["text"] for w in v["sections"]["warning_signs"]] for v in versions if v] == [
        [],
        ["Sleeping badly"],
        ["Skipping meetings"],
    ]
    before = await planning.client.get(
        f"/v1/participants/{pid}/plan", headers=SUPERVISOR, params={"as_of": "2000-01-01T00:00:00Z"}
    )
    assert before.status_code == 404


async def test_plan_content_never_reaches_kafka(planning, kafka_bootstrap) -> None:
    pid, _ = await a_seeded_plan(planning, kafka_bootstrap)
    secret = f"secret-{uuid.uuid4().hex}"
    response = await planning.client.put(
        f"/v1/participants/{pid}/plan",
        headers={**AUTH, "If-Match": '"1"'},
        json={
            "sections": {
                "warning_signs": [{"text": secret, "tags": ["isolation"]}],
                "support_network": [{"name": secret, "role": "sponsor", "may_contact": True}],
            }
        },
    )
    assert response.status_code == 200, response.text
    await planning_records(kafka_bootstrap, pid, "PlanUpdated")
    records = await all_planning_records(kafka_bootstrap, pid)
    assert event_names(records) == ["PlanCreated", "PlanUpdated"]
    assert all(secret.encode() not in r.value for r in records)
    updated = payload(records[1])
    assert updated["sections_changed"] == ["warning_signs", "support_network"]
    assert updated["outline"]["warning_sign_tags"] == ["isolation"]
