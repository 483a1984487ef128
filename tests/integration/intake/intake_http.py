"""Helpers for intake's integration tests: a running intake, agencies, and request bodies."""

from __future__ import annotations

import uuid
from typing import Any

from shared.testing.auth import bearer

FULL_ENROLMENT: dict[str, Any] = {
    "display_name": "Robin",
    "specialist_id": "spec-1",
    "recovery_start_date": "2026-03-01",
    "primary_substances": ["alcohol", "opioids"],
    "preferred_channel": "sms",
    "preferred_hours": {"start": "09:00", "end": "18:00"},
    "contact": {"given_name": "Robin", "family_name": "Quill", "phone": "+15550123", "email": "robin@example.org"},
    "support_contacts": [
        {"name": "Sam Sponsor", "relation": "sponsor", "channel": "phone", "phone": "+15550999",
         "consent_to_contact": True},
        {"name": "Alex Sibling", "relation": "sibling", "channel": "email", "email": "alex@example.org",
         "consent_to_contact": False},
    ],
}  # fmt: skip
IDENTIFIERS = ("Robin", "Quill", "+15550123", "robin@example.org", "Sam Sponsor", "+15550999", "Alex Sibling",
               "alex@example.org", "payday at the pub", "eviction letter", "prefers mornings")  # fmt: skip

CONSENT: dict[str, Any] = {
    "disclosing_agency_id": "agency-self",
    "information": ["assessment_scores", "risk_level"],
    "information_description": "scores and risk level from intake",
    "recipients": {"kind": "named_agency", "agency_ids": ["agency-mh"]},
    "purposes": ["mental_health_referral"],
    "right_to_revoke_acknowledged": True,
    "expiry": {"on": "2099-12-31"},
    "signature": {"signed_by": "Robin Quill", "method": "electronic", "signed_on": "2026-01-02"},
}
REFERRAL = {"recipient_agency_id": "agency-mh", "purpose": "mental_health_referral", "information": ["risk_level"],
            "note": "prefers mornings"}  # fmt: skip


class Agency:
    """A fresh agency per test, so tests sharing one intake never see each other's data."""

    def __init__(self, client: Any, roles: tuple[str, ...] = ("specialist",), agency_id: str | None = None) -> None:
        self.id = agency_id or f"agency-{uuid.uuid4().hex[:8]}"
        self.client = client
        self.sub = f"user-{uuid.uuid4().hex[:6]}"
        self.auth = bearer(sub=self.sub, agency_id=self.id, roles=roles)
        #: the agency's supervisor: opens every record of the agency (shared.minimum_necessary)
        self.supervisor = bearer(sub=f"supervisor-{uuid.uuid4().hex[:6]}", agency_id=self.id, roles=("supervisor",))

    async def shown(self, referral_id: str) -> None:
        """As the receiving agency, open a referral made to it (the moment it is disclosed)."""
        r = await self.get(f"/v1/referrals/incoming/{referral_id}")
        assert r.status_code == 200, r.text

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.client.post(path, json=body, headers=self.auth)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.client.put(path, json=body, headers=self.auth)

    async def get(self, path: str, **params: Any) -> Any:
        return await self.client.get(path, params=params, headers=self.auth)

    async def delete(self, path: str) -> Any:
        return await self.client.delete(path, headers=self.auth)

    async def enrol(self, **overrides: Any) -> str:
        """Enrol a participant onto the caller's own caseload (unless ``specialist_id`` says otherwise)."""
        r = await self.post("/v1/participants", {**FULL_ENROLMENT, "specialist_id": self.sub, **overrides})
        assert r.status_code == 201, r.text
        return str(r.json()["participant_id"])

    def terms(self, *, signed: bool = True, **overrides: Any) -> dict[str, Any]:
        """A complete consent body that lets this agency disclose (``signed=False``: a draft)."""
        body = {**CONSENT, "disclosing_agency_id": self.id, **overrides}
        return body if signed else {k: v for k, v in body.items() if k != "signature"}

    async def consent(self, pid: str, **overrides: Any) -> str:
        r = await self.post(f"/v1/participants/{pid}/consents", self.terms(**overrides))
        assert r.status_code == 201, r.text
        return str(r.json()["consent_id"])


def fields(response: Any) -> set[str]:
    """The field names a problem-details response names."""
    return {e["field"] for e in response.json().get("errors", [])}
