"""The plan editor's form without services: every section planning edits goes out as planning's
own model accepts it, keeps what the form does not show, and refusals land beside their fields."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.console import plan_form
from services.planning.domain.sections import EDITABLE_SECTIONS, SectionsPatch

pytestmark = pytest.mark.unit

TRIGGER, SITUATION, CONTACT = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
PLAN: dict[str, Any] = {
    "version": 3, "status": "active",
    "sections": {
        "warning_signs": [{"id": str(uuid.uuid4()), "text": "Skipping meals", "tags": ["routine-breakdown"]}],
        "high_risk_situations": [{"id": SITUATION, "category": "social_pressure", "trigger_id": TRIGGER,
                                  "description": "Friday drinks after work",
                                  "strategies": [{"id": str(uuid.uuid4()), "text": "Leave by 6",
                                                  "library_key": None}]}],
        "support_network": [{"id": CONTACT, "name": "Ana", "role": "sponsor", "may_contact": True,
                             "phone": "+1 555 0100", "email": None}],
        "healthy_alternatives": [], "daily_routine": [], "goals": [], "support_groups": [],
    },
}


def posted(values: dict[str, Any]) -> dict[str, Any]:
    """What a browser posts for these form values (unchecked boxes send nothing)."""
    form: dict[str, Any] = {"version": values["version"], "status": values["status"]}
    for name, _, _ in plan_form.LINE_SECTIONS:
        form[name] = values[name]
    for s in plan_form.ITEM_SECTIONS:
        form[f"{s.name}-count"] = str(len(values[s.name]))
        for i, row in enumerate(values[s.name]):
            form[f"{s.name}-{i}-id"] = row["id"]
            for f in s.fields:
                if f.kind != "checkbox" or row[f.name]:
                    form[f"{s.name}-{i}-{f.name}"] = row[f.name]
    return form


def test_the_editor_covers_every_section_planning_lets_a_client_edit():
    shown = {name for name, _, _ in plan_form.LINE_SECTIONS} | set(plan_form.SECTIONS)
    assert shown == set(EDITABLE_SECTIONS)


def test_an_unchanged_form_saves_the_same_plan_and_keeps_what_it_does_not_show():
    edit = plan_form.edit_from(posted(plan_form.values_of(PLAN)), PLAN)
    SectionsPatch.model_validate(edit.sections)  # what planning validates the PUT body with
    situation = edit.sections["high_risk_situations"][0]
    assert situation["id"] == SITUATION and situation["trigger_id"] == TRIGGER
    assert situation["strategies"] == PLAN["sections"]["high_risk_situations"][0]["strategies"]
    assert edit.sections["warning_signs"][0]["tags"] == ["routine-breakdown"]
    assert edit.sections["support_network"][0]["may_contact"] is True
    assert all(edit.sections[s] == [] for s in ("daily_routine", "goals", "support_groups"))


def test_new_rows_become_new_items_and_removed_or_empty_ones_go():
    form = posted(plan_form.values_of(PLAN))
    form.update({"support_network-0-remove": "on",
                 "support_network-1-name": "Dev", "support_network-1-role": "friend",
                 "support_network-1-email": "dev@example.org",
                 "daily_routine-0-at": "07:30", "daily_routine-0-activity": "Walk the dog",
                 "goals-0-description": "Back at work part-time", "goals-0-status": "active",
                 "goals-0-target_date": "2027-03-01",
                 "support_groups-0-kind": "smart-recovery", "support_groups-0-schedule": "Tuesdays 7 pm",
                 "high_risk_situations-0-strategies": "Leave by 6\nCall Ana on the way"})
    edit = plan_form.edit_from(form, PLAN)
    patch = SectionsPatch.model_validate(edit.sections)
    assert [c.name for c in patch.support_network] == ["Dev"] and patch.support_network[0].may_contact is False
    assert str(patch.daily_routine[0].at) == "07:30:00"
    assert patch.goals[0].status == "active" and str(patch.goals[0].target_date) == "2027-03-01"
    assert patch.support_groups[0].status == "suggested" and patch.support_groups[0].name is None
    strategies = patch.high_risk_situations[0].strategies
    assert [s.text for s in strategies] == ["Leave by 6", "Call Ana on the way"]
    assert strategies[0].id is not None and strategies[1].id is None  # the kept one keeps its id


def test_planning_refusals_land_beside_the_form_row_they_are_about():
    form = posted(plan_form.values_of(PLAN))
    form.update({"support_network-0-remove": "on", "support_network-1-name": "Dev",
                 "support_network-1-role": "friend", "support_network-1-phone": "call me"})
    edit = plan_form.edit_from(form, PLAN)
    errors = edit.field_errors({"sections.support_network.0.phone": "String should match pattern",
                                "sections.goals": "too many", "status": "not a status"})
    assert errors == {"support_network-1-phone": "String should match pattern", "goals": "too many"}


def test_a_form_shown_again_keeps_what_was_typed_and_adds_a_row_on_request():
    form = posted(plan_form.values_of(PLAN))
    form["daily_routine-0-activity"] = "Breakfast"
    again = plan_form.values_from(form)
    assert again["daily_routine"][0]["activity"] == "Breakfast" and again["daily_routine"][1]["activity"] == ""
    more = plan_form.values_from(posted(plan_form.values_of(PLAN)), add="goals")
    assert len(more["goals"]) == 2 and len(more["support_network"]) == 2
