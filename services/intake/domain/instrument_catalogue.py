"""What a form needs to show each instrument: its items, answer choices and score bands.

The scoring itself lives in :mod:`services.intake.domain.instruments`; the bands below use its
thresholds, so a form and the score it produces cannot disagree. PHQ-9 and GAD-7 items are
reproduced as published (no permission required, see that module); the BAM is the U.S. Department
of Veterans Affairs' Brief Addiction Monitor (public domain); the BARC-10 items are those of the
published Brief Assessment of Recovery Capital. The ASAM criteria's text is not reproduced: only
the six dimensions' names and the 0-4 risk rating a clinician enters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.intake.domain import instruments as ins

_FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
_DAYS = ("0 days", "1-3 days", "4-8 days", "9-15 days", "16-30 days")
_AMOUNT = ("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
_AGREEMENT = ("Strongly disagree", "Disagree", "Somewhat disagree", "Somewhat agree", "Agree", "Strongly agree")


def _choices(labels: tuple[str, ...], start: int = 0) -> list[dict[str, Any]]:
    return [{"value": start + i, "label": label} for i, label in enumerate(labels)]


PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite - being so fidgety "
    "or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)

GAD7_ITEMS = (
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)

BARC10_ITEMS = (
    "There are more important things to me in life than using substances.",
    "In general I am happy with my life.",
    "I have enough energy to complete the tasks I set for myself.",
    "I am proud of the community I live in and feel a part of it.",
    "I get lots of support from friends.",
    "I regard my life as challenging and fulfilling without the need for using drugs or alcohol.",
    "My living space has helped to drive my recovery journey.",
    "I take full responsibility for my actions.",
    "I am happy dealing with a range of professional people.",
    "I am making good progress on my recovery journey.",
)

_PAST_30 = "In the past 30 days, "
#: (item text, its answer choices)
BAM_ITEMS: tuple[tuple[str, list[dict[str, Any]]], ...] = (
    (_PAST_30 + "would you say your physical health has been?",
     _choices(("Excellent", "Very good", "Good", "Fair", "Poor"))),
    (_PAST_30 + "how many nights did you have trouble falling asleep or staying asleep?", _choices(_DAYS)),
    (_PAST_30 + "how many days have you felt depressed, anxious, angry or very upset throughout most of the day?",
     _choices(_DAYS)),
    (_PAST_30 + "how many days did you drink ANY alcohol?", _choices(_DAYS)),
    (_PAST_30 + "how many days did you have at least 5 drinks (if you are a man) or at least 4 drinks (if you are "
     "a woman)? One drink is one shot of hard liquor (1.5 oz.), a 12-ounce can or bottle of beer, or a 5-ounce "
     "glass of wine.", _choices(_DAYS)),
    (_PAST_30 + "how many days did you use any illegal/street drugs or abuse any prescription medications?",
     _choices(_DAYS)),
    (_PAST_30 + "how many days did you use any of the following drugs? (answer 7A-7G below; this item counts "
     "the days of any of them)", _choices(_DAYS)),
    (_PAST_30 + "how much were you bothered by cravings or urges to drink alcohol or use drugs?", _choices(_AMOUNT)),
    ("How confident are you in your ability to be completely abstinent (clean) from alcohol and drugs in the next "
     "30 days?", _choices(_AMOUNT)),
    (_PAST_30 + "how many days did you attend self-help meetings like AA or NA to support your recovery?",
     _choices(_DAYS)),
    (_PAST_30 + "how many days were you in any situations or with any people that might put you at an increased "
     "risk for using alcohol or drugs (i.e., around risky \"people, places or things\")?", _choices(_DAYS)),
    ("Does your religion or spirituality help support your recovery?", _choices(_AMOUNT)),
    (_PAST_30 + "how many days did you spend much of the time at work, school, or doing volunteer work?",
     _choices(_DAYS)),
    ("Do you have enough income (from legal sources) to pay for necessities such as housing, transportation, food "
     "and clothing for yourself and your dependents?", [{"value": 0, "label": "No"}, {"value": 4, "label": "Yes"}]),
    (_PAST_30 + "how much have you been bothered by arguments or problems getting along with any family members "
     "or friends?", _choices(_AMOUNT)),
    (_PAST_30 + "how many days were you in contact or spent time with any family members or friends who are "
     "supportive of your recovery?", _choices(_DAYS)),
    ("How satisfied are you with your progress toward achieving your recovery goals?", _choices(_AMOUNT)),
)

BAM_SUBSTANCES = (
    ("7A", "Marijuana (cannabis, pot, weed)"),
    ("7B", "Sedatives/tranquilizers (e.g. benzos, Valium, Xanax, Ativan, Ambien, barbiturates, downers)"),
    ("7C", "Cocaine/crack"),
    ("7D", "Other stimulants (e.g. amphetamine, methamphetamine, Dexedrine, Ritalin, Adderall, speed, crystal meth)"),
    ("7E", "Opiates (e.g. heroin, morphine, Dilaudid, Demerol, OxyContin, codeine, Percocet, Vicodin, fentanyl)"),
    ("7F", "Inhalants (glues, adhesives, nail polish remover, paint thinner, etc.)"),
    ("7G", "Other drugs (steroids, non-prescription sleep or diet pills, Benadryl, ephedra, other over-the-counter "
     "or unknown medications)"),
)

ASAM_DIMENSIONS = (
    ("d1", "Acute intoxication and/or withdrawal potential"),
    ("d2", "Biomedical conditions and complications"),
    ("d3", "Emotional, behavioral or cognitive conditions and complications"),
    ("d4", "Readiness to change"),
    ("d5", "Relapse, continued use or continued problem potential"),
    ("d6", "Recovery/living environment"),
)
ASAM_RATINGS = ("0 - no risk", "1 - low risk", "2 - moderate risk", "3 - high risk", "4 - very high risk")


def _bands(severity: Any, top: int) -> list[dict[str, Any]]:
    """Contiguous score ranges with the severity label the scoring gives them."""
    bands: list[dict[str, Any]] = []
    for total in range(top + 1):
        label = severity(total)
        if bands and bands[-1]["severity"] == label:
            bands[-1]["max"] = total
        else:
            bands.append({"min": total, "max": total, "severity": label})
    return bands


def _two_week_screen(
    key: str, name: str, items: Sequence[str], severity: Callable[[int], str]
) -> dict[str, Any]:
    """A screen answered on the 0-3 frequency scale over the last two weeks (PHQ-9, GAD-7)."""
    most = 3 * len(items)
    return {
        "key": key,
        "name": name,
        "body": f'{{"{key}": {{"answers": [{len(items)} values]}}}}',
        "instructions": "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        "items": [{"number": i + 1, "text": t, "choices": _choices(_FREQUENCY)} for i, t in enumerate(items)],
        "total": {"min": 0, "max": most, "bands": _bands(severity, most)},
        "positive_screen_at": ins.POSITIVE_SCREEN,
    }


def catalogue() -> list[dict[str, Any]]:
    """Every instrument an assessment takes, in the order a form shows them."""
    return [
        {
            **_two_week_screen("phq9", "PHQ-9 (Patient Health Questionnaire, depression)", PHQ9_ITEMS,
                               ins.phq9_severity),
            "safety_item": 9,
            "notes": "Any answer above 0 on item 9 raises a safety concern for a person to act on at once.",
        },
        _two_week_screen("gad7", "GAD-7 (Generalized Anxiety Disorder scale)", GAD7_ITEMS, ins.gad7_severity),
        {
            "key": "bam",
            "name": "BAM (Brief Addiction Monitor)",
            "body": '{"bam": {"answers": [17 values], "substances": {"7A": 0, ...}}}',
            "instructions": "Answer each question about the past 30 days unless it says otherwise.",
            "items": [{"number": i + 1, "text": t, "choices": c} for i, (t, c) in enumerate(BAM_ITEMS)],
            "sub_items": [{"key": k, "text": t, "choices": _choices(_DAYS)} for k, t in BAM_SUBSTANCES],
            "subscales": [
                {"key": "use", "items": list(ins.BAM_USE_ITEMS), "concern": f">= {ins.BAM_USE_CONCERN}"},
                {"key": "risk_factors", "items": list(ins.BAM_RISK_ITEMS), "concern": f">= {ins.BAM_RISK_CONCERN}"},
                {"key": "protective_factors", "items": list(ins.BAM_PROTECTIVE_ITEMS),
                 "concern": f"<= {ins.BAM_PROTECTIVE_CONCERN}"},
            ],
            "notes": "There is no validated BAM total; the three subscales are scored.",
        },
        {
            "key": "barc10",
            "name": "BARC-10 (Brief Assessment of Recovery Capital)",
            "body": '{"barc10": {"answers": [10 values, 1-6]}}',
            "instructions": "How much do you agree with each statement?",
            "items": [
                {"number": i + 1, "text": t, "choices": _choices(_AGREEMENT, start=1)}
                for i, t in enumerate(BARC10_ITEMS)
            ],
            "total": {"min": 10, "max": 60, "sustained_remission_at": ins.BARC10_REMISSION_THRESHOLD},
        },
        {
            "key": "asam",
            "name": "ASAM dimensions (clinician's risk ratings)",
            "body": '{"asam": {"d1": 0, ..., "d6": 0}}',
            "instructions": "Rate the risk in each dimension from 0 to 4.",
            "items": [{"key": k, "text": t, "choices": _choices(ASAM_RATINGS)} for k, t in ASAM_DIMENSIONS],
            "notes": "Only the ratings are stored; the ASAM criteria's text is not reproduced here.",
        },
    ]
