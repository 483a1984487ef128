from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.planning.domain.commands import AssignEducationModule, RevisePlan
from services.planning.domain.sections import EDITABLE_SECTIONS, MAX_ITEMS, SectionsPatch
from shared.catalogue.planning import PlanSection

from .planning_builders import PARTICIPANT, SPECIALIST

pytestmark = pytest.mark.unit


def revise(sections: dict[str, Any], **extra: Any) -> RevisePlan:
    body = {"participant_id": PARTICIPANT, "expected_version": 1, "changed_by": SPECIALIST}
    return RevisePlan.model_validate({**body, **extra, "sections": sections})


def locations(error: ValidationError) -> list[tuple[Any, ...]]:
    return [tuple(e["loc"]) for e in error.errors()]


def test_an_unknown_section_is_refused_and_named() -> None:
    with pytest.raises(ValidationError) as caught:
        revise({"hobbies": []})
    assert ("sections", "hobbies") in locations(caught.value)


def test_the_education_section_is_changed_only_through_module_assignment() -> None:
    with pytest.raises(ValidationError, match="assigning or completing modules"):
        revise({"education": []})


def test_every_editable_section_is_a_published_section_name() -> None:
    assert set(EDITABLE_SECTIONS) | {"education"} == {s.value for s in PlanSection}


@pytest.mark.parametrize(
    ("sections", "where"),
    [
        ({"warning_signs": [{"text": ""}]}, ("sections", "warning_signs", 0, "text")),
        ({"warning_signs": [{"text": "x", "tags": ["not-a-tag"]}]}, ("sections", "warning_signs", 0, "tags", 0)),
        (
            {"warning_signs": [{"text": "x", "tags": ["isolation", "isolation"]}]},
            ("sections", "warning_signs", 0, "tags"),
        ),
        (
            {"high_risk_situations": [{"category": "boredom", "description": "x"}]},
            ("sections", "high_risk_situations", 0, "category"),
        ),
        (
            {
                "high_risk_situations": [
                    {
                        "category": "social_pressure",
                        "description": "x",
                        "strategies": [{"text": "y", "library_key": "nope"}],
                    }
                ]
            },
            ("sections", "high_risk_situations", 0, "strategies", 0, "library_key"),
        ),
        ({"support_network": [{"name": "Sam", "role": "boss"}]}, ("sections", "support_network", 0, "role")),
        (
            {"support_network": [{"name": "Sam", "role": "sponsor", "phone": "call me"}]},
            ("sections", "support_network", 0, "phone"),
        ),
        (
            {"support_network": [{"name": "Sam", "role": "sponsor", "email": "sam"}]},
            ("sections", "support_network", 0, "email"),
        ),
        ({"daily_routine": [{"at": "25:00", "activity": "Walk"}]}, ("sections", "daily_routine", 0, "at")),
        ({"goals": [{"description": "x", "status": "paused"}]}, ("sections", "goals", 0, "status")),
        ({"support_groups": [{"kind": "book-club"}]}, ("sections", "support_groups", 0, "kind")),
        (
            {"healthy_alternatives": [{"activity": "Run", "colour": "red"}]},
            ("sections", "healthy_alternatives", 0, "colour"),
        ),
        ({"goals": [{"description": "x"}] * (MAX_ITEMS + 1)}, ("sections", "goals")),
    ],
)
def test_section_content_is_validated_field_by_field(sections: dict[str, Any], where: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        revise(sections)
    assert where in locations(caught.value)


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"expected_version": 0}, ("expected_version",)),
        ({"status": "paused"}, ("status",)),
        ({"changed_by": " "}, ("changed_by",)),
        ({"note": "free text"}, ("note",)),
    ],
)
def test_a_revision_checks_its_own_fields(extra: dict[str, Any], where: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        revise({}, **extra)
    assert where in locations(caught.value)


def test_a_patch_reports_only_the_sections_it_was_given() -> None:
    patch = SectionsPatch.model_validate({"goals": [], "warning_signs": [{"text": "Snapping at people"}]})
    assert set(patch.given()) == {"goals", "warning_signs"}


def test_assigning_an_unknown_module_names_the_field_and_lists_the_catalogue() -> None:
    with pytest.raises(ValidationError) as caught:
        AssignEducationModule(participant_id=PARTICIPANT, module="juggling", assigned_by=SPECIALIST)
    assert ("module",) in locations(caught.value)
    assert "coping-with-cravings" in str(caught.value)
