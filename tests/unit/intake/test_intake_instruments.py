import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.intake.domain import instruments as ins

pytestmark = pytest.mark.unit


def _spread(total: int, items: int, top: int) -> list[int]:
    """Answers of ``items`` items (each at most ``top``) adding up to ``total``."""
    answers = []
    for _ in range(items):
        answers.append(min(top, total))
        total -= answers[-1]
    assert total == 0
    return answers


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_total_falls_in_the_published_band(total, severity):
    result = ins.score_phq9(ins.Phq9Answers(answers=_spread(total, 9, 3)))
    assert (result.total, result.severity) == (total, severity)


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_total_falls_in_the_published_band(total, severity):
    result = ins.score_gad7(ins.Gad7Answers(answers=_spread(total, 7, 3)))
    assert (result.total, result.severity) == (total, severity)


@pytest.mark.parametrize(("item9", "expected"), [(0, 0), (1, 1), (3, 3)])
def test_phq9_reports_item_9_on_its_own(item9, expected):
    result = ins.score_phq9(ins.Phq9Answers(answers=[0] * 8 + [item9]))
    assert result.item9 == expected
    assert result.total == expected


@pytest.mark.parametrize(("total", "positive"), [(9, False), (10, True), (11, True)])
def test_a_total_of_ten_or_more_is_a_positive_screen(total, positive):
    assert ins.is_positive_screen(total) is positive


@pytest.mark.parametrize(
    ("answers", "use", "risk", "protective"),
    [
        ([0] * 17, 0, 0, 0),
        ([4] * 17, 12, 24, 24),
        # only item 4 (use) set
        ([0, 0, 0, 2] + [0] * 13, 2, 0, 0),
        # risk items 1, 2, 3, 8, 11, 15 at 2 each -> 12
        ([2, 2, 2, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 2, 0, 0], 0, 12, 0),
        # protective items 9, 10, 12, 13, 14, 16 at 2 each -> 12
        ([0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 0, 2, 0], 0, 0, 12),
        # items 7 and 17 belong to no subscale
        ([0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 0, 0, 0),
    ],
)
def test_bam_subscales_sum_their_own_items_only(answers, use, risk, protective):
    result = ins.score_bam(ins.BamAnswers(answers=answers))
    assert (result.use, result.risk_factors, result.protective_factors) == (use, risk, protective)


def test_bam_substance_sub_items_do_not_change_any_subscale():
    plain = ins.score_bam(ins.BamAnswers(answers=[1] * 17))
    with_drugs = ins.score_bam(ins.BamAnswers(answers=[1] * 17, substances={"7A": 4, "7E": 3}))
    assert plain == with_drugs


@pytest.mark.parametrize(("total", "remission"), [(10, False), (46, False), (47, True), (60, True)])
def test_barc10_total_of_47_or_more_predicts_sustained_remission(total, remission):
    answers = [1] * 10
    extra = total - 10
    for i in range(10):
        step = min(5, extra)
        answers[i] += step
        extra -= step
    result = ins.score_barc10(ins.Barc10Answers(answers=answers))
    assert (result.total, result.predicts_sustained_remission) == (total, remission)


def test_asam_ratings_are_carried_as_entered():
    ratings = ins.asam_ratings(ins.AsamAnswers(d1=0, d2=1, d3=2, d4=3, d5=4, d6=0))
    assert (ratings.d1, ratings.d5) == (0, 4)


@pytest.mark.parametrize(
    ("model", "data", "location"),
    [
        (ins.Phq9Answers, {"answers": [0] * 8}, ("answers",)),
        (ins.Phq9Answers, {"answers": [0] * 10}, ("answers",)),
        (ins.Phq9Answers, {"answers": [0] * 8 + [4]}, ("answers", 8)),
        (ins.Phq9Answers, {"answers": [-1] + [0] * 8}, ("answers", 0)),
        (ins.Gad7Answers, {"answers": [0] * 6}, ("answers",)),
        (ins.Gad7Answers, {"answers": [0, 0, 0, 9, 0, 0, 0]}, ("answers", 3)),
        (ins.BamAnswers, {"answers": [0] * 16}, ("answers",)),
        (ins.BamAnswers, {"answers": [0] * 16 + [5]}, ("answers", 16)),
        (ins.BamAnswers, {"answers": [0] * 17, "substances": {"7H": 1}}, ("substances", "7H", "[key]")),
        (ins.BamAnswers, {"answers": [0] * 17, "substances": {"7A": 5}}, ("substances", "7A")),
        (ins.Barc10Answers, {"answers": [1] * 9}, ("answers",)),
        (ins.Barc10Answers, {"answers": [0] + [1] * 9}, ("answers", 0)),
        (ins.Barc10Answers, {"answers": [1] * 9 + [7]}, ("answers", 9)),
        (ins.AsamAnswers, {"d1": 0, "d2": 0, "d3": 0, "d4": 0, "d5": 5, "d6": 0}, ("d5",)),
        (ins.AsamAnswers, {"d1": 0, "d2": 0, "d3": 0, "d4": 0, "d5": 0}, ("d6",)),
    ],
)
def test_wrong_item_counts_and_out_of_range_answers_are_rejected_at_the_item(model, data, location):
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    assert location in [tuple(e["loc"]) for e in raised.value.errors()]


def test_every_bad_answer_is_reported_not_just_the_first():
    with pytest.raises(ValidationError) as raised:
        ins.Phq9Answers.model_validate({"answers": [4, 0, 0, 5, 0, 0, 0, 0, 9]})
    assert {tuple(e["loc"]) for e in raised.value.errors()} == {("answers", 0), ("answers", 3), ("answers", 8)}


@given(st.lists(st.integers(0, 4), min_size=17, max_size=17))
def test_bam_subscales_always_equal_the_sums_of_their_items(answers):
    result = ins.score_bam(ins.BamAnswers(answers=answers))
    assert result.use == answers[3] + answers[4] + answers[5]
    assert result.risk_factors == sum(answers[i - 1] for i in (1, 2, 3, 8, 11, 15))
    assert result.protective_factors == sum(answers[i - 1] for i in (9, 10, 12, 13, 14, 16))
    assert 0 <= result.use <= 12 and 0 <= result.risk_factors <= 24 and 0 <= result.protective_factors <= 24


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_total_is_the_sum_of_the_items_and_its_band_contains_it(answers):
    result = ins.score_phq9(ins.Phq9Answers(answers=answers))
    assert result.total == sum(answers)
    assert result.severity == ins.phq9_severity(sum(answers))
    assert result.item9 == answers[8]


@given(st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_gad7_total_is_the_sum_of_the_items(answers):
    assert ins.score_gad7(ins.Gad7Answers(answers=answers)).total == sum(answers)


@given(st.lists(st.integers(1, 6), min_size=10, max_size=10))
def test_barc10_total_is_the_sum_and_stays_between_10_and_60(answers):
    result = ins.score_barc10(ins.Barc10Answers(answers=answers))
    assert result.total == sum(answers)
    assert 10 <= result.total <= 60
    assert result.predicts_sustained_remission == (sum(answers) >= 47)


@pytest.mark.parametrize(("model", "count"), [(ins.Phq9Answers, 9), (ins.Gad7Answers, 7), (ins.BamAnswers, 17),
                                              (ins.Barc10Answers, 10)])  # fmt: skip
def test_a_wrong_item_count_says_how_many_answers_were_expected(model, count):
    with pytest.raises(ValidationError) as raised:
        model.model_validate({"answers": [1] * (count + 1)})
    [error] = raised.value.errors()
    assert error["type"] == "wrong_item_count"
    assert error["msg"] == f"expected {count} entries, got {count + 1}"


@given(
    st.lists(st.integers(0, 4), min_size=17, max_size=17),
    st.dictionaries(st.sampled_from(["7A", "7B", "7C", "7D", "7E", "7F", "7G"]), st.integers(0, 4)),
)
@settings(deadline=None)
def test_bam_sub_items_7a_to_7g_never_change_a_subscale(answers, substances):
    plain = ins.score_bam(ins.BamAnswers(answers=answers))
    assert ins.score_bam(ins.BamAnswers(answers=answers, substances=substances)) == plain


@pytest.mark.parametrize("rating", [0, 1, 2, 3, 4])
def test_every_asam_rating_from_0_to_4_is_kept_as_entered_in_its_dimension(rating):
    dims = {f"d{n}": 0 for n in range(1, 7)}
    for d in dims:
        ratings = ins.asam_ratings(ins.AsamAnswers(**{**dims, d: rating}))
        assert getattr(ratings, d) == rating
        assert sum(ratings.model_dump().values()) == rating


@pytest.mark.parametrize("rating", [-1, 5])
def test_an_asam_rating_outside_0_to_4_is_rejected_at_its_dimension(rating):
    with pytest.raises(ValidationError) as raised:
        ins.AsamAnswers.model_validate({"d1": 0, "d2": 0, "d3": rating, "d4": 0, "d5": 0, "d6": 0})
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [("d3",)]
