"""Validated instruments: the answers each one takes and its exact published scoring.

Answer models reject a wrong item count or an out-of-range answer with an error located at the
offending item (e.g. ``phq9.answers.8``), so the API can name each bad field. Scoring functions
are pure and total over valid answers; raw answers are kept beside the scores by the caller.

The PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B. W. Williams, Kurt Kroenke
and colleagues with an educational grant from Pfizer Inc.; no permission is required to
reproduce, translate, display or distribute them. Only ASAM ratings are stored, never ASAM text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain.validation import exactly
from shared.catalogue.intake import AsamRatings, BamResult, Barc10Result, Gad7Result, Phq9Result

PhqAnswer = Annotated[int, Field(ge=0, le=3)]
BamAnswer = Annotated[int, Field(ge=0, le=4)]
BarcAnswer = Annotated[int, Field(ge=1, le=6)]
AsamRating = Annotated[int, Field(ge=0, le=4)]

POSITIVE_SCREEN = 10  # PHQ-9 and GAD-7 totals at or above this are a positive screen
BARC10_REMISSION_THRESHOLD = 47

BAM_USE_ITEMS = (4, 5, 6)
BAM_RISK_ITEMS = (1, 2, 3, 8, 11, 15)
BAM_PROTECTIVE_ITEMS = (9, 10, 12, 13, 14, 16)
BAM_USE_CONCERN = 1  # any use at all is concerning
BAM_RISK_CONCERN = 12  # risk subscale >= 12
BAM_PROTECTIVE_CONCERN = 12  # protective subscale <= 12


BamSubItem = Literal["7A", "7B", "7C", "7D", "7E", "7F", "7G"]


class _Answers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Phq9Answers(_Answers):
    """Nine items, each 0 ("not at all") to 3 ("nearly every day"), in questionnaire order."""

    answers: Annotated[tuple[PhqAnswer, ...], exactly(9)]


class Gad7Answers(_Answers):
    answers: Annotated[tuple[PhqAnswer, ...], exactly(7)]


class BamAnswers(_Answers):
    """Items 1-17 scored 0-4, plus item 7's optional per-substance sub-items 7A-7G.

    The sub-items describe which drugs were used; they belong to no subscale.
    """

    answers: Annotated[tuple[BamAnswer, ...], exactly(17)]
    substances: dict[BamSubItem, BamAnswer] = Field(default_factory=dict)


class Barc10Answers(_Answers):
    answers: Annotated[tuple[BarcAnswer, ...], exactly(10)]


class AsamAnswers(_Answers):
    """Clinician-entered risk ratings; dimension 5 is relapse / continued-use potential."""

    d1: AsamRating
    d2: AsamRating
    d3: AsamRating
    d4: AsamRating
    d5: AsamRating
    d6: AsamRating


#: severity bands: the highest total of each band, in order; above the last band is "severe"
PHQ9_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe"))
GAD7_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"))


def _severity(total: int, bands: tuple[tuple[int, str], ...]) -> str:
    return next((name for highest, name in bands if total <= highest), "severe")


def phq9_severity(total: int) -> str:
    return _severity(total, PHQ9_BANDS)


def gad7_severity(total: int) -> str:
    return _severity(total, GAD7_BANDS)


def score_phq9(answers: Phq9Answers) -> Phq9Result:
    total = sum(answers.answers)
    return Phq9Result(total=total, severity=phq9_severity(total), item9=answers.answers[8])


def score_gad7(answers: Gad7Answers) -> Gad7Result:
    total = sum(answers.answers)
    return Gad7Result(total=total, severity=gad7_severity(total))


def _bam_item(answers: BamAnswers, number: int) -> int:
    return answers.answers[number - 1]


def score_bam(answers: BamAnswers) -> BamResult:
    """The three BAM subscales. There is no validated BAM total, so none is computed."""
    return BamResult(
        use=sum(_bam_item(answers, n) for n in BAM_USE_ITEMS),
        risk_factors=sum(_bam_item(answers, n) for n in BAM_RISK_ITEMS),
        protective_factors=sum(_bam_item(answers, n) for n in BAM_PROTECTIVE_ITEMS),
    )


def score_barc10(answers: Barc10Answers) -> Barc10Result:
    total = sum(answers.answers)
    return Barc10Result(total=total, predicts_sustained_remission=total >= BARC10_REMISSION_THRESHOLD)


def asam_ratings(answers: AsamAnswers) -> AsamRatings:
    return AsamRatings(**answers.model_dump())


def is_positive_screen(total: int) -> bool:
    return total >= POSITIVE_SCREEN
