"""Event sequences in, notifications out: the directory and the rules together."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notifications_helpers import AGENCY, PARTICIPANT, incoming, run, summary

from services.notifications.domain.directory import AgencyStaff
from services.notifications.domain.intents import deduplicate

pytestmark = pytest.mark.unit

P = str(PARTICIPANT)
SC_YES = str(uuid.UUID(int=1))
SC_NO = str(uuid.UUID(int=2))


def enrolled(**kw):
    return incoming(
        "ParticipantEnrolled",
        specialist_id="spec-1",
        support_contacts=[
            {"support_contact_id": SC_YES, "consent_to_contact": True},
            {"support_contact_id": SC_NO, "consent_to_contact": False},
        ],
        **kw,
    )


def missed(n: int | None = None):
    return incoming("CheckInMissed") if n is None else incoming("CheckInMissed", consecutive_misses=n)


def test_three_consecutive_misses_climb_the_whole_ladder():
    assert summary(run([enrolled(), missed(1), missed(2), missed(3)])) == [
        ("missed-check-in.reminder", "participant", P, "routine"),
        ("missed-check-in.outreach", "specialist", "spec-1", "routine"),
        ("missed-check-in.supervisor", "supervisor", "sup-1", "urgent"),
        ("missed-check-in.support-contact", "support_contact", SC_YES, "routine"),
    ]


def test_the_ladder_counts_misses_itself_when_the_event_carries_no_count():
    assert [s[0] for s in summary(run([enrolled(), missed(), missed(), missed()]))] == [
        "missed-check-in.reminder",
        "missed-check-in.outreach",
        "missed-check-in.supervisor",
        "missed-check-in.support-contact",
    ]


def test_a_completed_check_in_starts_the_count_again():
    events = [enrolled(), missed(), missed(), incoming("CheckInCompleted"), missed()]
    assert [s[0] for s in summary(run(events))] == [
        "missed-check-in.reminder",
        "missed-check-in.outreach",
        "missed-check-in.reminder",
    ]


@pytest.mark.parametrize(
    ("consent_changes", "contacted"),
    [
        ([], [SC_YES]),
        ([(SC_YES, False)], []),
        ([(SC_NO, True)], sorted([SC_NO, SC_YES])),
        ([(SC_YES, False), (SC_YES, True)], [SC_YES]),
    ],
)
def test_support_contacts_hear_on_the_third_miss_only_while_consent_allows(consent_changes, contacted):
    changes = [
        incoming("SupportContactConsentChanged", support_contact_id=cid, consent_to_contact=flag)
        for cid, flag in consent_changes
    ]
    out = run([enrolled(), *changes, missed(1), missed(2), missed(3)])
    assert sorted(i.recipient_id for i in out if i.recipient_role.value == "support_contact") == contacted


def test_a_transfer_sends_later_alerts_to_the_new_specialist():
    events = [
        enrolled(),
        incoming("SpecialistAssigned", specialist_id="spec-2", previous_specialist_id="spec-1"),
        incoming("HelpRequested"),
    ]
    assert [i.recipient_id for i in run(events)] == ["spec-2", "sup-1"]


def test_without_a_specialist_the_supervisor_takes_the_outreach():
    events = [
        enrolled(),
        incoming("SpecialistUnassigned", previous_specialist_id="spec-1"),
        missed(1),
        missed(2),
    ]
    assert summary(run(events))[-1] == ("missed-check-in.outreach", "supervisor", "sup-1", "routine")


def test_discharge_silences_the_ladder_but_never_a_safety_concern():
    events = [enrolled(), incoming("ParticipantDischarged"), missed(1), incoming("SafetyConcernRaised")]
    assert [i.rule.value for i in run(events)] == ["safety-concern", "safety-concern"]


def test_an_agency_without_configured_staff_still_reaches_the_specialist():
    out = run([enrolled(), incoming("HelpRequested")], staff=AgencyStaff(AGENCY))
    assert [i.recipient_id for i in out] == ["spec-1"]


def test_a_redelivered_event_yields_nothing_new_once_its_keys_were_recorded():
    help_requested = incoming("HelpRequested")
    first = run([enrolled(), help_requested])
    again = run([enrolled(), help_requested])
    assert list(deduplicate(again, already=[i.dedup_key for i in first])) == []


EVENT_KINDS = ["CheckInMissed", "CheckInCompleted", "HelpRequested", "SafetyConcernRaised", "MilestoneReached"]


@settings(deadline=None)  # a busy CI machine must not turn slowness into failure
@given(
    kinds=st.lists(st.sampled_from(EVENT_KINDS), min_size=1, max_size=12),
    redeliveries=st.lists(st.integers(0, 11), max_size=12),
)
def test_however_often_events_are_redelivered_each_cause_reaches_each_recipient_once_per_rule(kinds, redeliveries):
    events = [enrolled(), *(incoming(k) for k in kinds)]
    once = run(events)
    seen = [intent.dedup_key for intent in once]
    # Replaying any prefix (a consumer restarted before committing its offsets) decides the same
    # intents again: the keys recorded the first time absorb every one of them.
    repeated = [i for n in redeliveries if n < len(kinds) for i in run([events[0], *events[1 : n + 2]])]
    assert list(deduplicate(repeated, already=seen)) == []
    assert len({i.dedup_key for i in once}) == len(once)
