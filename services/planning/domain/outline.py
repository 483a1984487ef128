"""The publishable shape of a plan: what changed and what it contains, without the words."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

from services.planning.domain.recorded import PlanDocument
from services.planning.domain.sections import EDITABLE_SECTIONS
from shared.catalogue.planning import GoalStatus, PlanOutline, PlanSection

T = TypeVar("T", bound=StrEnum)


def _distinct_sorted(values: Iterable[T]) -> tuple[T, ...]:
    return tuple(sorted(set(values)))


def outline_of(document: PlanDocument) -> PlanOutline:
    content = document.content
    goals = [g.status for g in content.goals]
    return PlanOutline(
        warning_signs=len(content.warning_signs),
        warning_sign_tags=_distinct_sorted(t for s in content.warning_signs for t in s.tags),
        high_risk_situations=len(content.high_risk_situations),
        situation_categories=_distinct_sorted(s.category for s in content.high_risk_situations),
        coping_strategies=sum(len(s.strategies) for s in content.high_risk_situations),
        support_contacts=len(content.support_network),
        contactable_contact_ids=tuple(c.id for c in content.support_network if c.may_contact and c.id),
        healthy_alternatives=len(content.healthy_alternatives),
        routine_entries=len(content.daily_routine),
        goals_proposed=goals.count(GoalStatus.PROPOSED),
        goals_active=goals.count(GoalStatus.ACTIVE),
        goals_completed=goals.count(GoalStatus.COMPLETED),
        goals_cancelled=goals.count(GoalStatus.CANCELLED),
        support_group_kinds=_distinct_sorted(g.kind for g in content.support_groups),
        education_assigned=tuple(sorted(a.module for a in document.education)),
        education_completed=tuple(sorted(a.module for a in document.education if a.completed_at)),
    )


def sections_changed(before: PlanDocument, after: PlanDocument) -> tuple[PlanSection, ...]:
    """The sections whose content differs between two documents, in catalogue order."""
    changed = [
        PlanSection(name) for name in EDITABLE_SECTIONS if getattr(before.content, name) != getattr(after.content, name)
    ]
    if before.education != after.education:
        changed.append(PlanSection.EDUCATION)
    return tuple(sorted(changed, key=list(PlanSection).index))
