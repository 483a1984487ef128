"""Every list is paged with a maximum page size: participants, the assignment queue, the access log,
and each participant's assessments, consents, disclosure ledger and referrals."""

import pytest
from intake_http import REFERRAL, Agency

from shared.testing.auth import bearer

pytestmark = pytest.mark.integration


async def _enrol(agency: Agency, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = await agency.post("/v1/participants", {"display_name": f"P{i}"})  # no specialist: waits in the queue
        assert r.status_code == 201, r.text
        ids.append(r.json()["participant_id"])
    return ids


@pytest.mark.parametrize("path", ["/v1/participants", "/v1/assignment-queue"])
async def test_lists_are_paged_and_the_page_size_is_bounded(intake, path):
    agency = Agency(intake.client, roles=("specialist", "supervisor"))
    ids = await _enrol(agency, 3)
    key = "participants" if path == "/v1/participants" else "waiting"
    first = await agency.get(path, limit=2)
    assert first.status_code == 200 and first.json()["next_offset"] == 2
    second = await agency.get(path, limit=2, offset=2)
    assert second.json()["next_offset"] is None
    seen = [p["participant_id"] for p in first.json()[key] + second.json()[key]]
    assert sorted(seen) == sorted(ids)
    for bad in ({"limit": 501}, {"limit": 0}, {"offset": -1}):
        assert (await agency.get(path, **bad)).status_code == 422


async def test_the_access_log_is_paged(intake):
    agency = Agency(intake.client, roles=("specialist",))
    [pid] = await _enrol(agency, 1)
    for _ in range(3):
        await agency.get(f"/v1/participants/{pid}")
    admin = bearer(sub="admin", agency_id=agency.id, roles=("agency_admin",))
    page = await intake.client.get(f"/v1/participants/{pid}/access-log", params={"limit": 2}, headers=admin)
    assert page.status_code == 200 and len(page.json()["access_log"]) == 2 and page.json()["next_offset"] == 2
    too_big = await intake.client.get(f"/v1/participants/{pid}/access-log", params={"limit": 501}, headers=admin)
    assert too_big.status_code == 422


async def _every_page(agency: Agency, path: str, key: str, **params) -> tuple[list[dict], list[int | None]]:
    """Walk a list two entries at a time: the entries and each page's next_offset."""
    entries, offsets, offset = [], [], 0
    while True:
        r = await agency.get(path, limit=2, offset=offset, **params)
        assert r.status_code == 200, r.text
        entries += r.json()[key]
        offsets.append(r.json()["next_offset"])
        if r.json()["next_offset"] is None:
            return entries, offsets
        offset = r.json()["next_offset"]


async def test_a_participants_assessments_consents_ledger_and_referrals_are_paged(intake):
    agency = Agency(intake.client)
    mh = Agency(intake.client, agency_id="agency-mh")
    pid = await agency.enrol()
    for _ in range(3):
        r = await agency.post(f"/v1/participants/{pid}/assessments",
                              {"phq9": {"answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]}})
        assert r.status_code == 201, r.text
    consents = [await agency.consent(pid) for _ in range(3)]
    referrals = []
    for _ in range(3):
        r = await agency.post(f"/v1/participants/{pid}/referrals", REFERRAL)
        assert r.status_code == 201, r.text
        referrals.append(r.json()["referral_id"])
        await mh.shown(referrals[-1])

    assessed, offsets = await _every_page(agency, f"/v1/participants/{pid}/assessments", "assessments")
    assert len(assessed) == 3 and offsets == [2, None]
    assert [a["completed_at"] for a in assessed] == sorted(a["completed_at"] for a in assessed)  # oldest first
    listed, offsets = await _every_page(agency, f"/v1/participants/{pid}/consents", "consents")
    assert [c["consent_id"] for c in listed] == consents and offsets == [2, None]
    ledger, offsets = await _every_page(agency, f"/v1/participants/{pid}/disclosures", "disclosures")
    assert [d["referral_id"] for d in ledger] == referrals[::-1] and offsets == [2, None]  # newest first
    recent, _ = await _every_page(agency, f"/v1/participants/{pid}/disclosures", "disclosures", years=3)
    assert recent == ledger
    made, offsets = await _every_page(agency, f"/v1/participants/{pid}/referrals", "referrals")
    assert sorted(r["referral_id"] for r in made) == sorted(referrals) and offsets == [2, None]
    agency_wide, offsets = await _every_page(agency, "/v1/referrals/outgoing", "referrals")
    assert sorted(r["referral_id"] for r in agency_wide) == sorted(referrals) and offsets == [2, None]
    for path in ("assessments", "consents", "disclosures", "referrals"):
        assert (await agency.get(f"/v1/participants/{pid}/{path}", limit=501)).status_code == 422
        assert (await agency.get(f"/v1/participants/{pid}/{path}", offset=-1)).status_code == 422
