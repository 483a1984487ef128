"""The psychoeducation module catalogue (Waypoint's own short descriptions).

Modules are referred to by ``key`` everywhere (commands, events, FHIR export); the key is a
closed vocabulary, so it is safe to publish while any reflection a participant writes is not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EducationModule:
    key: str
    title: str
    summary: str
    minutes: int


_MODULES = (
    EducationModule(
        "nature-of-addiction",
        "The nature of addiction",
        "Addiction as a treatable health condition rather than a moral failing, and why it tends to recur.",
        20,
    ),
    EducationModule(
        "recovery-process",
        "How recovery unfolds",
        "Recovery as a process with stages and setbacks; what tends to help people stay on course.",
        20,
    ),
    EducationModule(
        "relapse-warning-signs",
        "Spotting relapse warning signs",
        "How a relapse usually builds up in thoughts, feelings and habits before any use, and how to notice it.",
        25,
    ),
    EducationModule(
        "coping-with-cravings",
        "Coping with cravings",
        "What a craving is, how long it lasts, and practical skills for getting through one.",
        20,
    ),
    EducationModule(
        "neurobiology-of-addiction",
        "Addiction and the brain",
        "How substances change reward, stress and self-control systems, and how the brain recovers.",
        25,
    ),
    EducationModule(
        "co-occurring-conditions",
        "Mental health alongside substance use",
        "Depression, anxiety, trauma and substance use often travel together; why treating both matters.",
        25,
    ),
    EducationModule(
        "stress-management",
        "Managing stress",
        "Everyday ways to lower stress: breathing, movement, planning, and asking for help early.",
        15,
    ),
    EducationModule(
        "building-support-network",
        "Building a support network",
        "Who can help, how to ask, and how mutual-help groups and peers fit into recovery.",
        15,
    ),
    EducationModule(
        "healthy-relationships",
        "Relationships in recovery",
        "Boundaries, communication and repairing trust with the people who matter.",
        20,
    ),
    EducationModule(
        "medication-for-addiction",
        "Medication in recovery",
        "What medications for opioid and alcohol use disorders do, and common myths about them.",
        20,
    ),
    EducationModule(
        "overdose-prevention",
        "Overdose prevention and naloxone",
        "Why tolerance drops after a break, how to recognise an overdose, and how naloxone is used.",
        15,
    ),
    EducationModule(
        "lapse-is-information",
        "After a lapse",
        "How to respond to a lapse without shame: learning from it and updating the plan.",
        15,
    ),
)

CATALOGUE: dict[str, EducationModule] = {m.key: m for m in _MODULES}
