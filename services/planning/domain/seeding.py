"""Seeding a draft plan from a completed assessment: situations from triggers, goals from gaps.

The rules (documented in docs/planning.md):

* every trigger becomes a high-risk situation for each of its situation categories, linked back to
  the trigger by id, with the library's first suggestions for that category; category names are
  matched loosely (case, hyphens, spaces), unknown ones are skipped, and a repeat of the same
  (trigger, category) pair gives one situation;
* a BAM protective-factors subscale at or below 12 (of 24) becomes a proposed goal to strengthen
  them (intake publishes the subscales, not the item answers);
* a BARC-10 total below 47 adds a goal to grow recovery capital.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.planning.domain.recorded import PlanDocument
from services.planning.domain.sections import CopingStrategy, Goal, HighRiskSituation, PlanContent
from services.planning.domain.strategies import SITUATION_DESCRIPTIONS, suggested_for
from shared.catalogue.planning import PlanStatus, SituationCategory

BAM_PROTECTIVE_CONCERN = 12
BARC10_REMISSION = 47

BAM_GENERAL_GOAL = "Strengthen protective factors: supportive contacts, meaningful activity and group meetings."
BARC10_GOAL = (
    "Grow recovery capital in the weakest areas the BARC-10 showed (for example housing, "
    "social support or meaningful activity), and recheck at the next assessment."
)


@dataclass(frozen=True)
class TriggerFacts:
    """One trigger named at assessment: its id in intake and its situation categories."""

    trigger_id: UUID | None
    situations: tuple[str, ...]


@dataclass(frozen=True)
class AssessmentFacts:
    """What planning needs from intake's AssessmentCompleted, as plain values."""

    participant_id: UUID
    assessment_id: UUID
    risk_level: str
    completed_at: datetime
    triggers: tuple[TriggerFacts, ...] = ()
    bam_protective_subscale: int | None = None
    barc10_total: int | None = None


def situation_category(name: str) -> SituationCategory | None:
    """The situation category a trigger name refers to, or None when it is not one."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return SituationCategory(key)
    except ValueError:
        return None


def _situations(triggers: Iterable[TriggerFacts]) -> tuple[HighRiskSituation, ...]:
    pairs = dict.fromkeys(
        (t.trigger_id, c) for t in triggers for c in map(situation_category, t.situations) if c is not None
    )
    return tuple(
        HighRiskSituation(
            category=category,
            trigger_id=trigger_id,
            description=SITUATION_DESCRIPTIONS[category],
            strategies=tuple(
                CopingStrategy(text=f"{s.title}: {s.how}", library_key=s.key) for s in suggested_for(category)
            ),
        )
        for trigger_id, category in pairs
    )


def _goals(facts: AssessmentFacts) -> tuple[Goal, ...]:
    texts: list[str] = []
    if facts.bam_protective_subscale is not None and facts.bam_protective_subscale <= BAM_PROTECTIVE_CONCERN:
        texts.append(BAM_GENERAL_GOAL)
    if facts.barc10_total is not None and facts.barc10_total < BARC10_REMISSION:
        texts.append(BARC10_GOAL)
    return tuple(Goal(description=text, origin="assessment") for text in texts)


def seed_document(facts: AssessmentFacts) -> PlanDocument:
    """The draft a new plan starts from after ``facts``' assessment (ids are added when recorded)."""
    content = PlanContent(high_risk_situations=_situations(facts.triggers), goals=_goals(facts))
    return PlanDocument(status=PlanStatus.DRAFT, content=content, source_assessment_id=facts.assessment_id)
