"""The minimum-necessary policy without I/O: who is held to the caseload, what a reason is, and the
decision (shared/minimum_necessary.py)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth import Principal
from shared.minimum_necessary import (
    GLASS,
    MAX_REASON_TEXT,
    MIN_REASON_TEXT,
    OPEN,
    REASON_KINDS,
    AccessReason,
    Assignment,
    AssignmentNotKnown,
    BreakTheGlassRequired,
    InvalidAccessReason,
    decide,
    needs_caseload,
    parse_reason,
)

pytestmark = pytest.mark.unit

PID = uuid.uuid4()
REASON = AccessReason("covering", "holding Dana's caseload this week")


def who(*roles: str, sub: str = "spec-1") -> Principal:
    return Principal(sub=sub, agency_id="agency-a", roles=frozenset(roles))


@pytest.mark.parametrize(("roles", "held"), [
    (("specialist",), True),
    (("agency_admin",), True),
    (("supervisor",), False),
    (("specialist", "supervisor"), False),  # a supervisor who also carries a caseload
    (("integration",), False),
    (("participant",), False),
])
def test_who_is_held_to_the_caseload(roles, held):
    assert needs_caseload(who(*roles)) is held


def test_the_assigned_specialist_opens_without_a_reason_others_need_one():
    mine = Assignment("spec-1")
    assert decide(who("specialist"), mine, None) == OPEN
    assert decide(who("specialist"), mine, REASON) == OPEN  # a reason on one's own caseload breaks nothing
    with pytest.raises(BreakTheGlassRequired) as refused:
        decide(who("specialist", sub="spec-2"), mine, None)
    assert refused.value.status == 403 and refused.value.code == "break-the-glass-required"
    assert refused.value.problem_extra["reason_kinds"] == list(REASON_KINDS)
    assert decide(who("specialist", sub="spec-2"), mine, REASON) == GLASS
    assert decide(who("agency_admin", sub="admin"), mine, REASON) == GLASS


def test_nobodys_caseload_needs_a_reason_from_every_specialist():
    waiting = Assignment(None)
    with pytest.raises(BreakTheGlassRequired):
        decide(who("specialist"), waiting, None)
    assert decide(who("specialist"), waiting, REASON) == GLASS


def test_an_assignment_not_known_is_closed_even_with_a_reason():
    for reason in (None, REASON):
        with pytest.raises(AssignmentNotKnown) as closed:
            decide(who("specialist"), None, reason)
        assert closed.value.status == 404 and closed.value.code == "assignment-not-known"


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None),
    ("covering: holding Dana's caseload", AccessReason("covering", "holding Dana's caseload")),
    ("  emergency :  crisis line call at night  ", AccessReason("emergency", "crisis line call at night")),
    ("quality-review: audit sample no. 12: ok", AccessReason("quality-review", "audit sample no. 12: ok")),
    ("other: caf%C3%A9 outreach follow-up", AccessReason("other", "café outreach follow-up")),
])
def test_a_reason_is_a_kind_and_a_text(raw, expected):
    assert parse_reason(raw) == expected


@pytest.mark.parametrize("raw", [
    "",
    "covering",  # no text
    "holiday: looking around the caseload",  # not a kind
    "Covering: kinds are lower case only",
    "emergency: too short",
    "other: " + "x" * (MAX_REASON_TEXT + 1),
    "other: a bell %07 in the text",  # control characters, even percent-encoded
    "other: not UTF-8 %FF%FE at all",
])
def test_anything_else_is_refused_as_an_invalid_reason(raw):
    with pytest.raises(InvalidAccessReason) as invalid:
        parse_reason(raw)
    assert invalid.value.status == 422 and invalid.value.field == "Waypoint-Access-Reason"


@given(kind=st.sampled_from(REASON_KINDS),
       text=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
                    min_size=MIN_REASON_TEXT, max_size=MAX_REASON_TEXT))
def test_any_kind_with_a_long_enough_printable_text_is_a_reason(kind, text):
    from urllib.parse import quote

    assert parse_reason(f"{kind}: {quote(text)}") == AccessReason(kind, text)


def _dependency_calls(dependant) -> set[str]:
    found = set()
    for sub in dependant.dependencies:
        found.add(getattr(sub.call, "__qualname__", ""))
        found |= _dependency_calls(sub)
    return found


#: participant routes that are not the participant's record: the accountability log of who read it
NOT_THE_RECORD = {"/v1/participants/{participant_id}/access-log"}


@pytest.mark.parametrize("service", ["intake", "planning", "monitoring", "notifications"])
def test_every_participant_read_route_goes_through_the_policy(service):
    """A new GET under /participants/{participant_id} without a ...RecordCall fails here."""
    from importlib import import_module

    from fastapi.routing import APIRoute

    def walk(routes):  # included routers nest their routes
        for r in routes:
            inner = getattr(r, "original_router", None) or getattr(r, "router", None)
            yield from walk(inner.routes) if inner is not None and hasattr(inner, "routes") else [r]

    app = import_module(f"services.{service}.entrypoints.app").create_app()
    routes = [r for r in walk(app.routes) if isinstance(r, APIRoute) and "GET" in r.methods
              and "{participant_id}" in r.path and r.path not in NOT_THE_RECORD]
    assert routes or service == "notifications"
    unguarded = [r.path for r in routes if "record_reader.<locals>.dependency" not in _dependency_calls(r.dependant)]
    assert unguarded == []
