"""Helpers of the erasure tests: a person with unique texts, and a scan of a whole database."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.testing.auth import bearer


class Person:
    """Texts unique to one test, so a scan of a shared database finds only this person's."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = f"Robin{tag} Quill"
        self.family = f"Quill{tag}"
        self.phone = f"+1555{int(tag, 16) % 10_000_000:07d}"
        self.email = f"robin{tag}@example.org"
        self.sponsor = f"Sam{tag} Sponsor"
        self.sponsor_phone = f"+1666{int(tag, 16) % 10_000_000:07d}"
        self.sibling_email = f"alex{tag}@example.org"
        self.trigger = f"payday at the pub {tag}"
        self.stressor = f"eviction letter {tag}"
        self.consent_text = f"scores for the clinic {tag}"
        self.referral_note = f"prefers mornings {tag}"
        self.note = f"talked about my brother {tag}"
        self.coping = f"call my cousin {tag}"
        self.plan_text = f"walk the dog at dawn {tag}"
        self.warning = f"skipping breakfast {tag}"

    def texts(self) -> list[str]:
        return [v for k, v in vars(self).items()]

    def enrolment(self, specialist: str) -> dict[str, Any]:
        return {
            "display_name": self.name, "specialist_id": specialist, "recovery_start_date": "2026-03-01",
            "primary_substances": ["alcohol"], "preferred_channel": "sms",
            "contact": {"given_name": self.name.split()[0], "family_name": self.family, "phone": self.phone,
                        "email": self.email},
            "support_contacts": [
                {"name": self.sponsor, "relation": "sponsor", "channel": "phone", "phone": self.sponsor_phone,
                 "consent_to_contact": True},
                {"name": "Alex Sibling", "relation": "sibling", "channel": "email", "email": self.sibling_email,
                 "consent_to_contact": False},
            ],
        }

    def assessment(self) -> dict[str, Any]:
        return {
            "phq9": {"answers": [2, 2, 2, 2, 1, 1, 0, 0, 0]},
            "risk_factors": {
                "triggers": [{"description": self.trigger, "situations": ["social_pressure"]}],
                "stressors": [{"category": "housing", "description": self.stressor}],
            },
        }

    def consent(self, agency: str, recipient: str) -> dict[str, Any]:
        return {
            "disclosing_agency_id": agency, "information": ["assessment_scores", "risk_level"],
            "information_description": self.consent_text,
            "recipients": {"kind": "named_agency", "agency_ids": [recipient]},
            "purposes": ["mental_health_referral"], "right_to_revoke_acknowledged": True,
            "expiry": {"on": "2099-12-31"},
            "signature": {"signed_by": self.name, "method": "electronic", "signed_on": "2026-01-02"},
        }


class Staff:
    def __init__(self, client: Any, agency: str, sub: str, roles: tuple[str, ...]) -> None:
        self.client, self.agency = client, agency
        self.headers = bearer(sub=sub, agency_id=agency, roles=roles)

    async def get(self, path: str, **params: Any) -> Any:
        return await self.client.get(path, params=params, headers=self.headers)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.client.post(path, json=body, headers=self.headers)

    async def put(self, path: str, body: Any = None, **headers: str) -> Any:
        return await self.client.put(path, json=body, headers={**self.headers, **headers})


async def found_in_database(dsn: str, texts: list[str]) -> dict[str, list[str]]:
    """Which of ``texts`` appear, in clear, anywhere in the database (every row of every table,
    event payloads and the outbox included), read as the owner in the system scope."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT set_config('waypoint.system', 'on', false)")
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        hits: dict[str, list[str]] = {}
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            dump = "\n".join(r["row"] for r in rows)
            outbox = ""
            if table == "outbox":  # the record value is bytea
                outbox = "\n".join(bytes(r["value"]).decode(errors="replace")
                                   for r in await conn.fetch("SELECT value FROM outbox"))
            for text in texts:
                if text in dump or text in outbox:
                    hits.setdefault(table, []).append(text)
        return hits
    finally:
        await conn.close()


async def data_key(dsn: str, participant_id: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT set_config('waypoint.system', 'on', false)")
        return await conn.fetchrow("SELECT * FROM data_keys WHERE participant_id = $1", uuid.UUID(participant_id))
    finally:
        await conn.close()


async def found_on_kafka(bootstrap: str, participant_id: str, texts: list[str]) -> list[str]:
    """Which of ``texts`` travel, in clear, in any record about the participant on the four
    service topics (what other services, agencies' copies and integrators read): every partition
    read from its beginning up to its end offset as of now."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from shared.cloudevents import topic_for
    from shared.events import SERVICES
    from shared.testing.kafka import header

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[str] = []
    read = 0
    try:
        cluster = await consumer._client.fetch_all_metadata()  # the topics' partitions
        partitions = [TopicPartition(topic_for(s), p) for s in SERVICES
                      for p in cluster.partitions_for_topic(topic_for(s)) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if header(record, "ce_subject") != participant_id:
                        continue
                    read += 1
                    value = (record.value or b"").decode(errors="replace")
                    found += [t for t in texts if t in value and t not in found]
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    assert read > 0, "no record about the participant was read: the check would prove nothing"
    return found

