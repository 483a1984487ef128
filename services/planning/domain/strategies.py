"""Waypoint's coping-strategy library, keyed by high-risk-situation category.

The texts are the project's own short wordings of widely taught relapse-prevention skills. When a
plan is drafted from an assessment, every trigger category gets the first ``SUGGESTIONS_PER_SITUATION``
strategies of its list as suggestions; specialist and participant then keep, edit or drop them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.catalogue.planning import SituationCategory as C

SUGGESTIONS_PER_SITUATION = 3


@dataclass(frozen=True)
class Strategy:
    key: str
    title: str
    how: str


def _s(key: str, title: str, how: str) -> Strategy:
    return Strategy(key, title, how)


LIBRARY: dict[C, tuple[Strategy, ...]] = {
    C.NEGATIVE_EMOTIONAL_STATES: (
        _s(
            "name-the-feeling",
            "Name the feeling",
            "Say or write what you feel and how strong it is, 0-10; a named feeling is easier to ride out.",
        ),
        _s(
            "paced-breathing",
            "Paced breathing",
            "Breathe in for four counts and out for six, for three minutes, before deciding anything.",
        ),
        _s(
            "reach-out-early",
            "Reach out early",
            "Message or call someone on your support list while the feeling is still manageable.",
        ),
        _s(
            "opposite-action",
            "Do the opposite",
            "When low mood says stay in, take one small step out: a walk, a shower, a chore.",
        ),
    ),
    C.NEGATIVE_PHYSICAL_STATES: (
        _s("halt-check", "HALT check", "Ask: am I hungry, angry, lonely or tired? Deal with that need first."),
        _s(
            "pain-plan",
            "Pain and illness plan",
            "Agree with a clinician how to treat pain or withdrawal symptoms without self-medicating.",
        ),
        _s(
            "sleep-routine", "Protect sleep", "Keep fixed wake-up and bed times; screens off half an hour before sleep."
        ),
    ),
    C.POSITIVE_EMOTIONAL_STATES: (
        _s(
            "plan-the-celebration",
            "Plan the celebration",
            "Decide in advance how you will mark good news without substances.",
        ),
        _s("share-good-news", "Share good news", "Tell a supporter when things go well; let them celebrate with you."),
        _s(
            "watch-the-ease",
            "Notice when it feels easy",
            "Feeling great can lower your guard; keep your routine on good days too.",
        ),
    ),
    C.TESTING_PERSONAL_CONTROL: (
        _s(
            "decision-balance",
            "Decision balance",
            "Keep a written list of what use cost you and what recovery gives you; reread it when tempted.",
        ),
        _s("no-experiments", "No experiments", "Treat 'just one to prove I can' as a warning sign, not a plan."),
        _s(
            "talk-before-acting",
            "Talk before acting",
            "Before any test of control, talk it through with your specialist or sponsor.",
        ),
    ),
    C.URGES_AND_TEMPTATIONS: (
        _s(
            "urge-surfing",
            "Urge surfing",
            "Notice the craving like a wave: it rises, peaks and passes, usually within half an hour.",
        ),
        _s(
            "delay-and-distract",
            "Delay and distract",
            "Put off any decision for fifteen minutes and do something absorbing meanwhile.",
        ),
        _s(
            "play-the-tape",
            "Play the tape forward",
            "Picture honestly how the evening and next morning would go if you used.",
        ),
        _s("remove-cues", "Remove cues", "Clear out supplies, paraphernalia and contacts linked to use."),
    ),
    C.INTERPERSONAL_CONFLICT: (
        _s(
            "take-a-time-out", "Take a time-out", "Step away from a heated argument and agree to come back to it later."
        ),
        _s(
            "i-statements",
            "Speak with I-statements",
            "Say what you feel and need ('I feel..., I need...') rather than blaming.",
        ),
        _s(
            "debrief-after-conflict",
            "Debrief afterwards",
            "After a conflict, talk it over with a supporter instead of carrying it alone.",
        ),
    ),
    C.SOCIAL_PRESSURE: (
        _s(
            "rehearsed-refusal",
            "Rehearsed refusal",
            "Practise a short, firm 'no thanks' and a change of subject until it comes easily.",
        ),
        _s("exit-plan", "Exit plan", "Arrive with your own transport and a time to leave; go when the plan says so."),
        _s("bring-an-ally", "Bring an ally", "Go to risky gatherings with someone who supports your recovery."),
    ),
    C.POSITIVE_EMOTIONAL_STATES_WITH_OTHERS: (
        _s(
            "substance-free-events",
            "Substance-free fun",
            "Choose or host celebrations built around food, activity or music rather than use.",
        ),
        _s("drink-in-hand", "Something in your hand", "Hold a non-alcoholic drink so offers come less often."),
        _s("check-in-midway", "Mid-event check-in", "Text a supporter halfway through a party to say how it is going."),
    ),
}

STRATEGIES: dict[str, Strategy] = {s.key: s for group in LIBRARY.values() for s in group}


def suggested_for(category: C) -> tuple[Strategy, ...]:
    """The strategies to suggest first for a situation of ``category``."""
    return LIBRARY[category][:SUGGESTIONS_PER_SITUATION]


SITUATION_DESCRIPTIONS: dict[C, str] = {
    C.NEGATIVE_EMOTIONAL_STATES: "Difficult feelings such as sadness, anger, anxiety, shame or boredom.",
    C.NEGATIVE_PHYSICAL_STATES: "Pain, illness, poor sleep, exhaustion or withdrawal symptoms.",
    C.POSITIVE_EMOTIONAL_STATES: "Feeling good, excited or relieved and wanting to heighten it.",
    C.TESTING_PERSONAL_CONTROL: "Wanting to prove that use can be controlled now.",
    C.URGES_AND_TEMPTATIONS: "Cravings, or meeting cues linked to past use.",
    C.INTERPERSONAL_CONFLICT: "Arguments or tension with a partner, family, friends or at work.",
    C.SOCIAL_PRESSURE: "Being offered substances, or being around people who use.",
    C.POSITIVE_EMOTIONAL_STATES_WITH_OTHERS: "Celebrations, parties or good times shared with others.",
}
