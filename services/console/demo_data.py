"""A small, believable agency for screenshots and demos, made through the services' public APIs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from shared.auth import issue_token
from shared.testing.auth import DEV_SECRET

AGENCY, SPECIALIST = "agency-demo", "specialist-1"
PEOPLE = [  # name, PHQ-9 answers (None: no assessment), check-ins (craving, mood)
    ("Alex Rivera", [2, 2, 2, 1, 2, 2, 1, 1, 1], [(3, 3), (5, 2), (4, 3), (7, 2), (6, 2), (8, 1)]),
    ("Sam Okafor", [1, 1, 0, 1, 1, 0, 1, 0, 0], [(2, 4), (2, 4), (1, 5)]),
    ("Jordan Lee", [2, 2, 1, 2, 1, 2, 1, 1, 0], [(4, 3)]),
    ("Casey Morgan", [0, 0, 0, 1, 0, 0, 0, 0, 0], []),
    ("Riley Chen", None, []),
]


@dataclass
class Demo:
    participants: dict[str, str]
    waiting: str


def bearer(sub: str, role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(DEV_SECRET, sub=sub, agency_id=AGENCY, roles=[role])}


async def _until_known(http: httpx.AsyncClient, monitoring: str, pid: str) -> None:
    for _ in range(300):
        if (await http.get(f"{monitoring}/v1/participants/{pid}/check-in-schedule")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"monitoring never heard of {pid}")


async def seed(urls: dict[str, str]) -> Demo:
    """Enrol the people above (plus one waiting for a specialist), assess them, record check-ins,
    one plan edit, one help request, the agency's staff and a webhook."""
    async with httpx.AsyncClient(timeout=20, headers=bearer(SPECIALIST, "specialist")) as http:
        made: dict[str, str] = {}
        for name, phq9, check_ins in PEOPLE:
            r = await http.post(f"{urls['intake']}/v1/participants", json={
                "display_name": name, "specialist_id": SPECIALIST, "recovery_start_date": "2026-09-01",
                "time_zone": "America/New_York"})
            r.raise_for_status()
            pid = made[name] = r.json()["participant_id"]
            if phq9:
                (await http.post(f"{urls['intake']}/v1/participants/{pid}/assessments",
                                 json={"phq9": {"answers": phq9}})).raise_for_status()
            await _until_known(http, urls["monitoring"], pid)
            for craving, mood in check_ins:
                (await http.post(f"{urls['monitoring']}/v1/participants/{pid}/check-ins",
                                 json={"craving": craving, "mood": mood})).raise_for_status()
        waiting = (await http.post(f"{urls['intake']}/v1/participants", json={"display_name": "Morgan Diaz"})).json()
        alex = made["Alex Rivera"]
        await _plan_edit(http, urls["planning"], alex)
        await http.post(f"{urls['monitoring']}/v1/participants/{alex}/help-requests", json={"channel": "app"},
                        headers=bearer(alex, "participant"))
        admin = bearer("admin-1", "agency_admin")
        await http.put(f"{urls['notifications']}/v1/agency-staff", headers=admin,
                       json={"supervisor_id": "supervisor-1", "agency_admin_id": "admin-1"})
        await http.post(f"{urls['notifications']}/v1/webhook-subscriptions", headers=admin, json={
            "url": "http://127.0.0.1:9/ehr/waypoint", "event_types": ["RiskEscalated", "HelpRequested"],
            "description": "EHR bridge"})
    return Demo(made, waiting["participant_id"])


async def _plan_edit(http: httpx.AsyncClient, planning: str, pid: str) -> None:
    for _ in range(300):
        r = await http.get(f"{planning}/v1/participants/{pid}/plan")
        if r.status_code == 200:
            break
        await asyncio.sleep(0.2)
    sections = {"warning_signs": [{"text": "Skipping meals"}, {"text": "Not answering my sister's calls"}],
                "healthy_alternatives": [{"activity": "Evening walk with the dog"}],
                "high_risk_situations": [{"category": "negative_emotional_states",
                                          "description": "Sunday evenings alone after a hard week",
                                          "strategies": [{"text": "Call Dana before 7 pm"},
                                                         {"text": "Go to the 8 pm meeting"}]}],
                "support_network": [{"name": "Dana Rivera", "role": "family", "may_contact": True,
                                     "phone": "+1 555 0142"}],
                "daily_routine": [{"at": "07:30", "activity": "Breakfast, then walk the dog"}],
                "goals": [{"description": "Back at work three days a week", "status": "active",
                           "target_date": "2027-02-01"}],
                "support_groups": [{"kind": "smart-recovery", "schedule": "Tuesdays 7 pm", "status": "attending"}]}
    await http.put(f"{planning}/v1/participants/{pid}/plan", json={"sections": sections, "status": "active"},
                   headers={"If-Match": f'"{r.json()["version"]}"'})
