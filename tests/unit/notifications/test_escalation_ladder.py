from __future__ import annotations

from datetime import timedelta

import pytest
from notifications_helpers import NOW

from services.notifications.domain.escalation import acknowledge_deadline, next_level
from services.notifications.domain.vocabulary import Role, Urgency

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("role", "above"),
    [
        (Role.SPECIALIST, Role.SUPERVISOR),
        (Role.SUPERVISOR, Role.AGENCY_ADMIN),
        (Role.AGENCY_ADMIN, None),
        (Role.PARTICIPANT, None),
        (Role.SUPPORT_CONTACT, None),
    ],
)
def test_the_ladder_goes_specialist_supervisor_agency_admin(role, above):
    assert next_level(role) == above


def test_only_urgent_alerts_get_a_deadline():
    assert acknowledge_deadline(NOW, Urgency.URGENT, timedelta(minutes=5)) == NOW + timedelta(minutes=5)
    assert acknowledge_deadline(NOW, Urgency.ROUTINE, timedelta(minutes=5)) is None


def test_a_deadline_needs_a_positive_timeout():
    with pytest.raises(ValueError):
        acknowledge_deadline(NOW, Urgency.URGENT, timedelta(0))
