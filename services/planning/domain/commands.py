"""Orders the plan aggregate takes. They validate their own content, so the API reuses them for 422s."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.planning.domain.education import CATALOGUE
from services.planning.domain.sections import SectionsPatch
from shared.catalogue.planning import PlanStatus

Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _catalogued(key: str) -> str:
    if key not in CATALOGUE:
        raise ValueError(f"unknown education module {key!r}; known: {', '.join(sorted(CATALOGUE))}")
    return key


ModuleKey = Annotated[str, AfterValidator(_catalogued)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DraftPlan(Command):
    """Start a participant's plan by hand (an assessment can also start one, see policies)."""

    participant_id: UUID
    sections: SectionsPatch = SectionsPatch()
    drafted_by: Actor


class RevisePlan(Command):
    """Replace the given sections and/or move the plan's status, based on ``expected_version``."""

    participant_id: UUID
    expected_version: Annotated[int, Field(ge=1)]
    sections: SectionsPatch = SectionsPatch()
    status: PlanStatus | None = None
    review_completed: bool = False
    changed_by: Actor


class AssignEducationModule(Command):
    participant_id: UUID
    module: ModuleKey
    due_on: date | None = None
    assigned_by: Actor


class CompleteEducationModule(Command):
    participant_id: UUID
    module: ModuleKey
    completed_by: Actor
