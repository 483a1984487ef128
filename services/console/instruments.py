"""The validated instruments' items as the forms show them, with each instrument's answer scale.

PHQ-9 and GAD-7 are reproduced as published (no permission needed). BAM and BARC-10 items are
shortened to a line each; ASAM is rated per dimension (its text is not reproduced).
"""

from __future__ import annotations

from dataclasses import dataclass

PHQ_SCALE = [(0, "Not at all"), (1, "Several days"), (2, "More than half the days"), (3, "Nearly every day")]


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    question: str
    items: tuple[str, ...]
    scale: tuple[tuple[int, str], ...]


INSTRUMENTS = {
    "phq9": Instrument("phq9", "PHQ-9", "Over the last 2 weeks, how often have you been bothered by:", (
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety "
        "or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
    ), tuple(PHQ_SCALE)),
    "gad7": Instrument("gad7", "GAD-7", "Over the last 2 weeks, how often have you been bothered by:", (
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ), tuple(PHQ_SCALE)),
    "bam": Instrument("bam", "BAM (Brief Addiction Monitor)", "In the past 30 days (0 = none or not at all, "
                      "4 = most or extremely):", (
        "Physical health", "Sleep troubles", "Feeling down, depressed, anxious", "Days of any alcohol",
        "Days of heavy drinking", "Days of any illegal or non-prescribed drug", "Drug use (the main substance)",
        "Cravings or urges", "Confidence in not using", "Attending self-help meetings", "Risky situations",
        "Religion or spirituality support", "Work, school or volunteering", "Enough income", "Family conflict",
        "Supportive family or friends", "Satisfaction with progress toward recovery goals",
    ), tuple((i, str(i)) for i in range(5))),
    "barc10": Instrument("barc10", "BARC-10 (Brief Assessment of Recovery Capital)", "How much do you agree "
                         "(1 = strongly disagree, 6 = strongly agree):", (
        "There are more important things to me in life than using substances",
        "In general I am happy with my life",
        "I have enough energy to complete the tasks I set myself",
        "I am proud of the community I live in and feel part of it",
        "I get lots of support from friends",
        "I regard my life as challenging and fulfilling without the need for using drugs or alcohol",
        "My living space has helped to drive my recovery journey",
        "I take full responsibility for my actions",
        "I am happy dealing with a range of professional people",
        "I am making good progress on my recovery journey",
    ), tuple((i, str(i)) for i in range(1, 7))),
    "asam": Instrument("asam", "ASAM dimensions (risk rating 0-4)", "Rate the risk in each dimension:", (
        "D1 Intoxication and withdrawal", "D2 Biomedical conditions", "D3 Emotional, behavioural, cognitive",
        "D4 Readiness to change", "D5 Relapse or continued-use potential", "D6 Recovery environment",
    ), tuple((i, str(i)) for i in range(5))),
}


def body_of(key: str, form: dict[str, object]) -> dict[str, object]:
    """The API body for one instrument from the form's ``item-N`` fields (all answered)."""
    answers = [int(str(form[f"item-{i}"])) for i in range(len(INSTRUMENTS[key].items))]
    if key == "asam":
        return {"asam": {f"d{i + 1}": a for i, a in enumerate(answers)}}
    return {key: {"answers": answers}}
