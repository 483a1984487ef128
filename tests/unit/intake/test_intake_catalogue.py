import pytest
from pydantic import BaseModel

from shared.catalogue import intake
from shared.events import registered_events

pytestmark = pytest.mark.unit

EMITTED = [
    "ParticipantEnrolled",
    "SpecialistAssigned",
    "ConsentGranted",
    "ConsentRevoked",
    "AssessmentCompleted",
    "RiskLevelChanged",
    "SafetyConcernRaised",
    "CoOccurringConditionFlagged",
    "ReferralRequested",
    "ParticipantDischarged",
]
IDENTIFYING = ("name", "phone", "email", "address", "description", "note", "signed_by", "birth", "text")


def intake_events():
    return {n: c for n, c in registered_events().items() if c.service == "intake"}


@pytest.mark.parametrize("name", EMITTED)
def test_the_contract_event_names_are_registered_for_intake(name):
    cls = intake_events()[name]
    assert cls.type_name() == f"waypoint.intake.{name}.v1"


def _field_names(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for field_name, info in model.model_fields.items():
        names.append(prefix + field_name)
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names.extend(_field_names(candidate, f"{prefix}{field_name}."))
    return names


@pytest.mark.parametrize("name", sorted(intake_events()))
def test_no_intake_event_has_a_field_that_could_hold_a_direct_identifier(name):
    fields = _field_names(intake_events()[name])
    suspicious = [f for f in fields if any(word in f.split(".")[-1] for word in IDENTIFYING)]
    assert suspicious == []


@pytest.mark.parametrize("name", sorted(intake_events()))
def test_every_intake_event_concerns_a_participant(name):
    assert "participant_id" in intake_events()[name].model_fields


def test_the_catalogue_module_registers_every_intake_event():
    assert set(intake_events()) >= set(EMITTED)
    assert all(getattr(intake, n) is intake_events()[n] for n in EMITTED)
