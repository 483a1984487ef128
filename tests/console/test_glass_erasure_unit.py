"""The console's side of break-the-glass and erasure without services: the console in-process, the
services stood in for by an httpx transport that answers as their documented API does (a 403
``break-the-glass-required`` problem without a reason, ``erased`` on what was erased)."""

from __future__ import annotations

import html
import json
import uuid
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.clients import REASON_HEADER, participant_in, reason_header
from services.console.routes.glass import grouped
from services.console.settings import ConsoleSettings

pytestmark = pytest.mark.unit

OFF_CASELOAD, ERASED = str(uuid.uuid4()), str(uuid.uuid4())
GLASS = {"type": "https://waypoint.dev/problems/break-the-glass-required", "title": "BreakTheGlassRequired",
         "status": 403, "detail": "this participant is not on your caseload: give a reason"}


class Services:
    """Stands in for the four services; remembers the reason header of every call."""

    def __init__(self) -> None:
        self.reasons: list[tuple[str, str | None]] = []
        self.erasures: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, reason = request.url.path, request.headers.get(REASON_HEADER)
        self.reasons.append((path, reason))
        if participant_in(path) == OFF_CASELOAD:
            if reason is None:
                return httpx.Response(403, json=GLASS, headers={"content-type": "application/problem+json"})
            text = unquote(reason.split(":", 1)[1]).strip()
            if len(text) < 10 or text.startswith("x"):  # the services' own check, stricter than the console's
                return httpx.Response(422, json={**GLASS, "status": 422, "detail": "say why in 10 to 300 characters",
                                                 "type": "https://waypoint.dev/problems/access-reason-invalid"},
                                      headers={"content-type": "application/problem+json"})
        if path == f"/v1/participants/{ERASED}/erasure":
            self.erasures.append(json.loads(request.content))
            return httpx.Response(200, json={"participant_id": ERASED, "erased": True,
                                             "erased_at": "2026-11-27T10:00:00+00:00", "erased_now": True})
        if path == "/v1/participants" and ERASED in request.url.params.get_list("participant_id"):
            return httpx.Response(200, json={"participants": [self.erased_person()], "next_offset": None})
        if path == "/v1/participants" and OFF_CASELOAD in request.url.params.get_list("participant_id"):
            return httpx.Response(200, json={"participants": [{"participant_id": OFF_CASELOAD, "display_name": "Lee",
                                                               "status": "active"}], "next_offset": None})
        if path == f"/v1/participants/{OFF_CASELOAD}":
            return httpx.Response(200, json={"participant_id": OFF_CASELOAD, "display_name": "Lee Offcase",
                                             "status": "active", "support_contacts": []})
        if path == f"/v1/participants/{ERASED}":
            return httpx.Response(200, json={**self.erased_person(), "contact": None, "support_contacts": [
                {"support_contact_id": str(uuid.uuid4()), "name": None, "relation": "sponsor",
                 "consent_to_contact": False, "erased": True, "erased_at": "2026-11-27T10:00:00+00:00"}]})
        if path == "/v1/flagged-accesses":
            return httpx.Response(200, json={"flagged_accesses": [
                {"id": 1, "at": "2026-11-27T09:00:00+00:00", "participant_id": OFF_CASELOAD, "actor": "crs-2",
                 "action": "broke the glass: GET /v1/participants/{participant_id}", "reason_kind": "covering",
                 "reason": "covering for Sam today"}], "next_offset": None})
        return httpx.Response(404, json={"title": "Not Found"})

    @staticmethod
    def erased_person() -> dict[str, Any]:
        return {"participant_id": ERASED, "display_name": None, "status": "active", "specialist_id": "crs-1",
                "erased": True, "erased_at": "2026-11-27T10:00:00+00:00"}


def console(services: Services, user: str, role: str) -> TestClient:
    client = TestClient(create_app(ConsoleSettings(session_secret="s" * 32), httpx.MockTransport(services)),
                        follow_redirects=False)
    form = client.get("/sign-in").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    client.post("/sign-in", data={"user": user, "agency": "agency-a", "role": role, "csrf": csrf})
    return client


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


def test_a_record_off_the_caseload_asks_for_a_reason_then_every_call_about_them_carries_it():
    services = Services()
    client = console(services, "crs-2", "specialist")
    asked = client.get(f"/participants/{OFF_CASELOAD}/plan")
    assert asked.status_code == 403 and "Give a reason to open this record" in asked.text
    assert "your supervisor sees it" in asked.text
    assert f'name="next" value="/participants/{OFF_CASELOAD}/plan"' in asked.text

    too_short = client.post(f"/participants/{OFF_CASELOAD}/reason",
                            data={"csrf": csrf_of(asked.text), "kind": "covering", "text": "cover",
                                  "next": f"/participants/{OFF_CASELOAD}/plan"})
    assert too_short.status_code == 422 and "at least 10 characters" in too_short.text
    assert "cover" in too_short.text  # what was typed is kept

    given = client.post(f"/participants/{OFF_CASELOAD}/reason",
                        data={"csrf": csrf_of(asked.text), "kind": "covering", "text": "Covering for Sam, café visit",
                              "next": "https://elsewhere.example/"})  # only this participant's pages
    assert given.status_code == 303 and given.headers["location"] == f"/participants/{OFF_CASELOAD}"
    cookie = given.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Covering" not in cookie  # encrypted
    services.reasons.clear()
    page = client.get(f"/participants/{OFF_CASELOAD}")
    assert page.status_code == 200 and "Lee Offcase" in page.text
    sent = {reason for path, reason in services.reasons if participant_in(path) == OFF_CASELOAD}
    assert sent == {"covering: Covering for Sam, caf%C3%A9 visit"}
    assert all(reason is None for path, reason in services.reasons if participant_in(path) != OFF_CASELOAD)


def test_a_reason_the_service_refuses_asks_again_with_its_message():
    services = Services()
    client = console(services, "crs-2", "specialist")
    page = client.get(f"/participants/{OFF_CASELOAD}")
    given = client.post(f"/participants/{OFF_CASELOAD}/reason",
                        data={"csrf": csrf_of(page.text), "kind": "other", "text": "x" * 12})
    again = client.get(given.headers["location"])
    assert again.status_code == 403 and "Give a reason to open this record" in again.text
    assert "The reason was not accepted: say why in 10 to 300 characters" in again.text


def test_a_reason_belongs_to_one_session():
    services = Services()
    client = console(services, "crs-2", "specialist")
    page = client.get(f"/participants/{OFF_CASELOAD}")
    given = client.post(f"/participants/{OFF_CASELOAD}/reason",
                        data={"csrf": csrf_of(page.text), "kind": "covering", "text": "Covering for Sam today"})
    assert client.get(given.headers["location"]).status_code == 200
    kept = client.cookies["waypoint_glass"]
    client.cookies.delete("waypoint_glass")
    assert client.get(f"/participants/{OFF_CASELOAD}").status_code == 403
    client.cookies.set("waypoint_glass", kept)
    assert client.get(f"/participants/{OFF_CASELOAD}").status_code == 200
    other = console(services, "crs-2", "specialist")  # signed in again elsewhere: a new session
    other.cookies.set("waypoint_glass", kept)  # even with the old reason's cookie
    assert other.get(f"/participants/{OFF_CASELOAD}").status_code == 403


def test_the_reason_header_is_one_line_of_printable_ascii():
    assert reason_header("other", "Needed  for\nthe 50% review ü") == "other: Needed for the 50%25 review %C3%BC"


def test_a_supervisor_sees_each_reason_once_with_its_reads_and_the_persons_name():
    services = Services()
    client = console(services, "sup-1", "supervisor")
    page = client.get("/flagged-accesses")
    assert page.status_code == 200
    assert "crs-2" in page.text and "covering for Sam today" in page.text and "Lee" in page.text
    assert "4 (intake, planning, monitoring, notifications)" in page.text  # the same entry in each stand-in
    overview = client.get("/overview")
    assert "Records opened with a reason this week" in overview.text and "covering for Sam today" in overview.text


def test_grouping_counts_reads_of_one_opening():
    entries = [{"at": f"2026-11-27T09:00:0{i}+00:00", "participant_id": "p", "actor": "a", "reason_kind": "other",
                "reason": "r" * 10, "service": s} for i, s in enumerate(("intake", "intake", "planning"))]
    entries.append({**entries[0], "reason": "another reason", "at": "2026-11-27T08:00:00+00:00"})
    groups = grouped(entries)
    assert [(g["reads"], g["services"]) for g in groups] == [(3, ["intake", "planning"]), (1, ["intake"])]


def test_erasure_says_what_it_does_needs_a_reason_and_a_confirmation():
    services = Services()
    client = console(services, "admin-1", "agency_admin")
    OTHER = str(uuid.uuid4())
    assert client.get(f"/participants/{OTHER}/erasure").status_code == 404  # not in this agency's list
    page = client.get(f"/participants/{OFF_CASELOAD}/erasure")
    assert page.status_code == 200 and "Erase Lee" in page.text
    assert "cannot be undone" in page.text and "access log and the disclosure ledger" in page.text
    refused = client.post(f"/participants/{OFF_CASELOAD}/erasure", data={"csrf": csrf_of(page.text), "reason": " "})
    assert refused.status_code == 422 and "Say why" in refused.text and "cannot be undone" in refused.text
    assert services.erasures == []
    done = client.post(f"/participants/{ERASED}/erasure",
                       data={"csrf": csrf_of(page.text), "reason": "Written request of 2026-11-20",
                             "understood": "yes"})
    assert done.status_code == 303 and services.erasures == [{"reason": "Written request of 2026-11-20"}]
    after = client.get(done.headers["location"])
    assert "Participant erased" in after.text and "nobody can read them again" in after.text


def test_an_erased_participant_reads_as_erased_not_as_blank_fields():
    services = Services()
    page = console(services, "crs-1", "specialist").get(f"/participants/{ERASED}")
    assert page.status_code == 200
    assert "<h1>Erased participant</h1>" in page.text and "Erased on" in page.text
    assert page.text.count('class="wp-erased"') >= 2  # the contact details and the support contact's name
    assert "(no name given)" not in page.text


def test_a_form_sent_after_the_reason_ran_out_is_kept_and_sent_again_with_a_new_reason():
    """A plan typed while the reason ran out: the reason page keeps what was sent, and once a
    reason is given the user sends it again (nothing is sent for them, nothing typed is lost)."""
    services = Services()
    client = console(services, "crs-2", "specialist")
    page = client.get(f"/participants/{OFF_CASELOAD}")
    typed = {"csrf": csrf_of(page.text), "version": "3", "status": "active",
             "goals": "Walk with Sam on Sundays \"and\" <call> my sister"}
    asked = client.post(f"/participants/{OFF_CASELOAD}/plan/edit", data=typed)
    assert asked.status_code == 403 and "What you sent was not saved" in asked.text
    assert f'name="resume_path" value="/participants/{OFF_CASELOAD}/plan/edit"' in asked.text
    held = asked.text.split('name="resume_fields" value="')[1].split('"')[0]
    assert typed["csrf"] not in held  # the old token is not carried

    wrong = client.post(f"/participants/{OFF_CASELOAD}/reason", data={
        "csrf": csrf_of(asked.text), "kind": "covering", "text": "short",
        "resume_path": f"/participants/{OFF_CASELOAD}/plan/edit", "resume_fields": html.unescape(held)})
    assert wrong.status_code == 422 and 'name="resume_fields"' in wrong.text  # still kept

    given = client.post(f"/participants/{OFF_CASELOAD}/reason", data={
        "csrf": csrf_of(asked.text), "kind": "covering", "text": "Covering for Sam this week",
        "resume_path": f"/participants/{OFF_CASELOAD}/plan/edit", "resume_fields": html.unescape(held)})
    assert given.status_code == 200 and "Send it again" in given.text
    assert f'action="/participants/{OFF_CASELOAD}/plan/edit"' in given.text
    assert "Walk with Sam on Sundays &#34;and&#34; &lt;call&gt; my sister" in given.text
    services.reasons.clear()
    fields = dict(pair.split('" value="') for pair in given.text.split('type="hidden" name="')[1:]
                  if '" value="' in pair.split(">")[0])
    resent = {key: html.unescape(value.split('"')[0]) for key, value in fields.items()}
    assert resent["goals"] == typed["goals"] and resent["csrf"] == csrf_of(page.text)
    client.post(f"/participants/{OFF_CASELOAD}/plan/edit", data=resent)
    assert (f"/v1/participants/{OFF_CASELOAD}/plan", "covering: Covering for Sam this week") in services.reasons

    elsewhere = client.post(f"/participants/{OFF_CASELOAD}/reason", data={
        "csrf": csrf_of(asked.text), "kind": "covering", "text": "Covering for Sam this week",
        "resume_path": "/admin/staff", "resume_fields": "[]"})
    assert elsewhere.status_code == 303  # only this participant's pages are sent again
