"""The instrument catalogue a form is built from agrees with the scoring it feeds."""

import pytest

from services.intake.domain import instruments as ins
from services.intake.domain.assessment import AssessmentForm
from services.intake.domain.instrument_catalogue import catalogue

pytestmark = pytest.mark.unit

BY_KEY = {i["key"]: i for i in catalogue()}


def test_each_instrument_has_as_many_items_as_its_answers_take():
    assert [len(BY_KEY[k]["items"]) for k in ("phq9", "gad7", "bam", "barc10", "asam")] == [9, 7, 17, 10, 6]
    assert [s["key"] for s in BY_KEY["bam"]["sub_items"]] == ["7A", "7B", "7C", "7D", "7E", "7F", "7G"]


def test_a_form_filled_with_every_highest_choice_is_accepted_and_scored():
    def top(instrument):
        return [max(c["value"] for c in item["choices"]) for item in BY_KEY[instrument]["items"]]

    form = AssessmentForm.model_validate({
        "phq9": {"answers": top("phq9")},
        "gad7": {"answers": top("gad7")},
        "bam": {"answers": top("bam"), "substances": {s["key"]: 4 for s in BY_KEY["bam"]["sub_items"]}},
        "barc10": {"answers": top("barc10")},
        "asam": {item["key"]: max(c["value"] for c in item["choices"]) for item in BY_KEY["asam"]["items"]},
    })
    assert ins.score_phq9(form.phq9).total == BY_KEY["phq9"]["total"]["max"]
    assert ins.score_gad7(form.gad7).total == BY_KEY["gad7"]["total"]["max"]
    assert ins.score_barc10(form.barc10).total == BY_KEY["barc10"]["total"]["max"]


def test_the_bands_cover_every_total_once_with_the_scoring_label():
    for key, severity in (("phq9", ins.phq9_severity), ("gad7", ins.gad7_severity)):
        total = BY_KEY[key]["total"]
        covered = [n for band in total["bands"] for n in range(band["min"], band["max"] + 1)]
        assert covered == list(range(total["max"] + 1))
        assert all(severity(n) == band["severity"] for band in total["bands"] for n in (band["min"], band["max"]))
    assert [b["severity"] for b in BY_KEY["phq9"]["total"]["bands"]] == [
        "minimal", "mild", "moderate", "moderately_severe", "severe"
    ]


def test_phq9_names_its_safety_item_and_every_choice_has_a_label():
    assert BY_KEY["phq9"]["safety_item"] == 9 and "hurting yourself" in BY_KEY["phq9"]["items"][8]["text"]
    for instrument in BY_KEY.values():
        for item in instrument["items"]:
            assert item["text"] and all(c["label"] for c in item["choices"])
