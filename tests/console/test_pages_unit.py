"""Pieces of the console that need no services: charts, words for numbers, instrument forms."""

from __future__ import annotations

import pytest

from services.console import chart
from services.console.checkin_form import check_in_body
from services.console.format import risk_icon, risk_label
from services.console.instruments import body_of, missing
from services.intake.domain.assessment import AssessmentForm
from services.intake.domain.instrument_catalogue import catalogue

pytestmark = pytest.mark.unit


def test_bars_carry_their_numbers_in_text_and_escape_labels():
    svg = str(chart.bars("People <by> risk", [("Critical risk", 2), ("<b>", 0)]))
    assert 'aria-label="People &lt;by&gt; risk: Critical risk 2, &lt;b&gt; 0"' in svg
    assert ">2</text>" in svg and "<b>" not in svg


def test_craving_and_mood_lines_differ_by_shape_and_style_not_only_colour():
    svg = str(chart.craving_mood([{"craving": 7, "mood": 2, "completed_at": "2026-11-27T09:00:00+00:00"},
                                  {"craving": 3, "mood": 4, "completed_at": "2026-11-26T09:00:00+00:00"}]))
    assert svg.count("<circle") == 2 and svg.count("<rect") == 3  # background + 2 squares
    assert "stroke-dasharray" in svg and "craving (solid, circles)" in svg and "26 Nov" in svg


def test_risk_has_a_word_and_an_icon_for_every_level():
    for level in ("critical", "high", "moderate", "low", None):
        assert risk_label(level) and risk_icon(level)
    assert risk_label(None) == "Not assessed"


def test_every_instrument_of_intakes_catalogue_becomes_a_body_intake_accepts():
    for spec in catalogue():  # what GET /v1/instruments answers
        form = {f"item-{i}": str(item["choices"][-1]["value"]) for i, item in enumerate(spec["items"])}
        assert missing(spec, form) == []
        body = body_of(spec, {**form, **{f"sub-{s['key']}": "1" for s in spec.get("sub_items", [])}})
        AssessmentForm.model_validate(body)  # raises if the shape is wrong
        assert missing(spec, {}) == list(range(len(spec["items"])))
    phq9 = next(s for s in catalogue() if s["key"] == "phq9")
    assert body_of(phq9, {f"item-{i}": "1" for i in range(9)}) == {"phq9": {"answers": [1] * 9}}


def test_a_check_in_form_keeps_bad_numbers_for_the_service_to_name():
    body = check_in_body({"craving": "eleven", "mood": "3", "used": "yes", "warning_signs": ["a", "b"]})
    assert body["craving"] == "eleven" and body["mood"] == 3 and body["used_since_last_check_in"] is True
    assert body["warning_signs"] == [{"plan_sign_id": "a"}, {"plan_sign_id": "b"}]


async def test_all_pages_of_a_paged_list_are_read_once_each():
    import httpx

    from services.console.clients import Api, Services

    rows = [{"participant_id": str(i)} for i in range(1234)]
    asked: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        asked.append(offset)
        more = offset + limit < len(rows)
        return httpx.Response(200, json={"participants": rows[offset:offset + limit],
                                         "next_offset": offset + limit if more else None})

    services = Services({"intake": "http://intake"}, 5, httpx.MockTransport(answer))
    got = await Api(services, "token").all_pages("intake", "/v1/participants", "participants", status="active")
    await services.close()
    assert got["participants"] == rows
    assert sorted(asked) == [0, 500, 1000, 1500]  # the first page, then three at a time
