from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from services.planning.domain.history import plan_as_of, plan_at_version, plan_history
from shared.catalogue.planning import PlanSection, PlanStatus

from .planning_builders import SPECIALIST, T0, at, drafted, revise, seeded

pytestmark = pytest.mark.unit

SIGN = {"text": "Cancelling plans with friends", "tags": ["isolation"]}


def three_versions() -> list:
    history = drafted()
    history = revise(history, at(1), sections={"warning_signs": [SIGN]})
    return revise(history, at(2), status="active")


def test_the_history_lists_every_version_with_who_changed_which_sections() -> None:
    entries = plan_history(three_versions())
    assert [(e.version, e.change, e.sections_changed, e.status, e.changed_by) for e in entries] == [
        (1, "drafted", (), PlanStatus.DRAFT, SPECIALIST),
        (2, "revised", (PlanSection.WARNING_SIGNS,), PlanStatus.DRAFT, SPECIALIST),
        (3, "status-changed", (), PlanStatus.ACTIVE, SPECIALIST),
    ]
    assert [e.recorded_at for e in entries] == [T0, at(1), at(2)]


def test_a_plan_drafted_from_an_assessment_is_recorded_as_such_by_the_system() -> None:
    (entry,) = plan_history(seeded())
    assert (entry.change, entry.changed_by) == ("drafted-from-assessment", "system:planning")
    assert PlanSection.HIGH_RISK_SITUATIONS in entry.sections_changed


def test_a_version_number_returns_the_plan_as_it_was_then() -> None:
    history = three_versions()
    first, second = plan_at_version(history, 1), plan_at_version(history, 2)
    assert first is not None and second is not None
    assert first.document.content.warning_signs == ()
    assert [s.text for s in second.document.content.warning_signs] == [SIGN["text"]]
    assert plan_at_version(history, 4) is None


@pytest.mark.parametrize(
    ("moment", "expected_version"),
    [
        (T0 - timedelta(seconds=1), None),
        (T0, 1),
        (at(0.5), 1),
        (at(1), 2),
        (at(1.99), 2),
        (at(100), 3),
    ],
)
def test_a_moment_returns_the_version_in_force_then(moment, expected_version) -> None:
    found = plan_as_of(three_versions(), moment)
    assert (found.version if found else None) == expected_version


@settings(max_examples=40, deadline=None)
@for_all(gaps=st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=8), probe=st.integers(0, 5000))
def test_as_of_always_picks_the_last_version_recorded_at_or_before_the_moment(gaps: list[int], probe: int) -> None:
    history = drafted()
    moments = [T0]
    for i, gap in enumerate(gaps):
        moments.append(moments[-1] + timedelta(minutes=gap))
        history = revise(history, moments[-1], sections={"warning_signs": [{"text": f"sign {i}"}]})
    entries = plan_history(history)
    assert [e.version for e in entries] == list(range(1, len(gaps) + 2))
    moment = T0 + timedelta(minutes=probe)
    expected = max((v for v, m in enumerate(moments, start=1) if m <= moment), default=None)
    found = plan_as_of(history, moment)
    assert (found.version if found else None) == expected
