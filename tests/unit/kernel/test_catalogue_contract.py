"""The catalogue's compatibility check: every kind of break is caught, a versioned change passes."""

from __future__ import annotations

import copy
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import pytest
from typer.testing import CliRunner

from shared import catalogue_contract as contract
from shared.events import DomainEvent

pytestmark = pytest.mark.unit


def versioned(cls: type[DomainEvent], version: int = 1, name: str = "CravingNoted") -> type[DomainEvent]:
    """An unregistered event class posing as ``name`` at ``version`` (the registry stays clean)."""
    cls.service, cls.event_name, cls.schema_version = "monitoring", name, version
    cls.__name__ = name
    return cls


class Level(StrEnum):
    LOW = "low"
    HIGH = "high"


class LevelMore(StrEnum):
    LOW = "low"
    HIGH = "high"
    EXTREME = "extreme"


class Window(DomainEvent):
    start: str
    end: str


class WindowWithZone(DomainEvent):
    start: str
    end: str
    zone: str | None = None


class WindowLosingEnd(DomainEvent):
    start: str


def released_of(*classes: type[DomainEvent]) -> dict:
    return contract.snapshot(classes)


def v1():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        craving: int
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
    return versioned(CravingNoted)


def problems(after: type[DomainEvent], **kw) -> list[str]:
    return contract.breaking_changes(released_of(v1()), contract.snapshot([after]), **kw)


def test_the_repository_catalogue_is_compatible_with_its_released_form():
    """The gate in `make test`: a breaking change to any event fails here (and in
    `waypoint catalogue --check`) until its version is raised and an upcaster covers the old one."""
    assert contract.breaking_changes(contract.load_released(), contract.current_snapshot()) == []


def test_the_same_event_unchanged_is_compatible():
    assert problems(v1()) == []


def test_an_optional_field_added_at_the_same_version_is_compatible():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        craving: int
        level: Level
        noted_at: datetime
        window: WindowWithZone
        tags: list[str] = []
        trigger: str | None = None
    assert problems(versioned(CravingNoted)) == []


def test_a_removed_field_is_caught():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
    assert problems(versioned(CravingNoted)) == ["CravingNoted v1: craving: field removed or renamed"]


def test_a_renamed_field_is_caught_as_removed_and_new_required():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        urge: int
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
    assert problems(versioned(CravingNoted)) == [
        "CravingNoted v1: craving: field removed or renamed",
        "CravingNoted v1: urge: new required field",
    ]


@pytest.mark.parametrize(("field", "annotation"), [
    ("craving", str), ("craving", float), ("noted_at", str), ("participant_id", str), ("level", LevelMore),
])
def test_a_changed_type_is_caught(field, annotation):
    fields = {"participant_id": UUID, "craving": int, "level": Level, "noted_at": datetime, "window": Window,
              "tags": list[str]}
    fields[field] = annotation
    namespace = {"__annotations__": fields, "tags": []}
    changed = versioned(type("CravingNoted", (DomainEvent,), namespace))
    found = problems(changed)
    assert len(found) == 1 and found[0].startswith(f"CravingNoted v1: {field}: type changed"), found


def test_a_new_required_field_is_caught():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        craving: int
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
        trigger: str
    assert problems(versioned(CravingNoted)) == ["CravingNoted v1: trigger: new required field"]


def test_a_field_that_becomes_optional_is_caught():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        craving: int | None = None
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
    found = problems(versioned(CravingNoted))
    assert "CravingNoted v1: craving: was always present, now optional" in found


def test_breaks_inside_nested_objects_and_lists_are_caught():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        craving: int
        level: Level
        noted_at: datetime
        window: WindowLosingEnd
        tags: list[int] = []
    found = problems(versioned(CravingNoted))
    assert "CravingNoted v1: window.end: field removed or renamed" in found
    assert any(p.startswith("CravingNoted v1: tags[]: type changed") for p in found), found


def test_a_removed_event_is_caught():
    assert contract.breaking_changes(released_of(v1()), contract.snapshot([])) == [
        "CravingNoted: event removed from the catalogue"]


def urge_v2():
    class CravingNoted(DomainEvent):
        participant_id: UUID
        urge: int
        level: Level
        noted_at: datetime
        window: Window
        tags: list[str] = []
    return versioned(CravingNoted, version=2)


def test_a_raised_version_without_an_upcaster_is_caught():
    found = problems(urge_v2(), upcaster_exists=lambda name, v: False)
    assert found == ["CravingNoted: version raised from 1 to 2 but no upcaster covers v1 "
                     "(add @upcaster('CravingNoted', 1))"]


def test_a_raised_version_with_an_upcaster_covering_the_old_one_passes():
    new = urge_v2()

    def lift(name, version, data):
        assert (name, version) == ("CravingNoted", 1)
        data = dict(data)
        data["urge"] = data.pop("craving")
        return data

    assert problems(new, upcaster_exists=lambda name, v: (name, v) == ("CravingNoted", 1), lift=lift,
                    classes={"CravingNoted": new}) == []


def test_an_upcaster_that_does_not_produce_a_valid_event_is_caught():
    new = urge_v2()
    found = problems(new, upcaster_exists=lambda name, v: True, lift=lambda name, v, data: dict(data),
                     classes={"CravingNoted": new})
    assert len(found) == 1 and "do not turn an example of the released form into a valid v2" in found[0]


def test_a_lowered_version_is_caught():
    released = released_of(versioned(urge_v2(), version=2))
    assert contract.breaking_changes(released, contract.snapshot([v1()])) == [
        "CravingNoted: schema version went down from 2 to 1"]


def test_examples_are_valid_for_every_event_of_the_catalogue():
    from shared.events import registered_events

    for name, entry in contract.current_snapshot()["events"].items():
        registered_events()[name].model_validate(contract.example(entry["schema"]))


def test_waypoint_catalogue_check_fails_on_a_breaking_change_and_passes_otherwise(monkeypatch):
    from deploy.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["catalogue", "--check"])
    assert ok.exit_code == 0, ok.output
    released = copy.deepcopy(contract.load_released())
    enrolled = released["events"]["ParticipantEnrolled"]["schema"]
    enrolled["properties"]["legacy_code"] = {"type": "string"}
    monkeypatch.setattr(contract, "load_released", lambda: released)
    broken = runner.invoke(app, ["catalogue", "--check"])
    assert broken.exit_code == 1
    assert "ParticipantEnrolled v1: legacy_code: field removed or renamed" in broken.output
