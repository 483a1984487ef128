"""Rows intake keeps beside its event streams: identity, contact details, raw answers, consent
documents and the disclosure ledger. JSON goes in as text and is cast in SQL (kernel convention)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.intake.domain.assessment import ScoredAssessment
from services.intake.domain.consent_terms import ConsentTerms, Signature
from services.intake.domain.enrolment import EnrolParticipant
from shared.domain import NotFound

PARTICIPANT_NOT_FOUND = "participant not found"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def owning_agency(conn: asyncpg.Connection, participant_id: UUID) -> str | None:
    agency: str | None = await conn.fetchval(
        "SELECT agency_id FROM participants WHERE participant_id = $1", participant_id
    )
    return agency


async def require_participant(conn: asyncpg.Connection, participant_id: UUID, agency_id: str) -> str:
    """The participant's status ("active" or "discharged"). Another agency's participant answers
    exactly like a missing one (fail closed)."""
    status: str | None = await conn.fetchval(
        "SELECT status FROM participants WHERE participant_id = $1 AND agency_id = $2", participant_id, agency_id
    )
    if status is None:
        raise NotFound(PARTICIPANT_NOT_FOUND, field="participant_id")
    return status


async def insert_participant(conn: asyncpg.Connection, cmd: EnrolParticipant, agency_id: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO participants (participant_id, agency_id, specialist_id, status, display_name, contact,"
        " recovery_start_date, primary_substances, preferred_channel, preferred_hours, enrolled_at, waiting_since,"
        " time_zone) VALUES ($1, $2, $3, 'active', $4, $5::jsonb, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12)",
        cmd.participant_id,
        agency_id,
        cmd.specialist_id,
        cmd.display_name,
        cmd.contact.model_dump_json() if cmd.contact else None,
        cmd.recovery_start_date,
        dumps(list(cmd.primary_substances)),
        cmd.preferred_channel.value if cmd.preferred_channel else None,
        cmd.preferred_hours.model_dump_json() if cmd.preferred_hours else None,
        now,
        None if cmd.specialist_id else now,
        cmd.time_zone,
    )
    for c in cmd.support_contacts:
        await conn.execute(
            "INSERT INTO support_contacts (participant_id, support_contact_id, agency_id, name, relation, channel,"
            " phone, email, consent_to_contact) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            cmd.participant_id,
            c.support_contact_id,
            agency_id,
            c.name,
            c.relation.value,
            c.channel.value,
            c.phone,
            c.email,
            c.consent_to_contact,
        )


async def insert_assessment(
    conn: asyncpg.Connection,
    scored: ScoredAssessment,
    agency_id: str,
    actor: str | None,
    risk: tuple[str, list[str]],
    now: datetime,
) -> None:
    cmd = scored.command
    answers = cmd.model_dump(mode="json", exclude={"participant_id", "assessment_id"}, exclude_none=True)
    scores = scored.model_dump(mode="json", exclude={"command", "instruments"}, exclude_none=True)
    await conn.execute(
        "INSERT INTO assessments (assessment_id, participant_id, agency_id, completed_at, recorded_by, instruments,"
        " answers, scores, risk_level, risk_reasons) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb,"
        " $9, $10::jsonb)",
        cmd.assessment_id,
        cmd.participant_id,
        agency_id,
        now,
        actor,
        dumps([i.value for i in scored.instruments]),
        dumps(answers),
        dumps(scores),
        risk[0],
        dumps(risk[1]),
    )


async def save_consent(
    conn: asyncpg.Connection,
    cmd: ConsentTerms,
    agency_id: str,
    status: str,
    version: int,
    signature: Signature | None,
    now: datetime,
) -> None:
    """Insert or replace the consent document (terms and signature) with its current status."""
    terms = cmd.model_dump(mode="json", exclude={"participant_id", "consent_id", "signature"})
    await conn.execute(
        "INSERT INTO consents (consent_id, participant_id, agency_id, status, version, terms, signature, expires_on,"
        " expiry_event, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $10)"
        " ON CONFLICT (consent_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,"
        " terms = EXCLUDED.terms, signature = EXCLUDED.signature, expires_on = EXCLUDED.expires_on,"
        " expiry_event = EXCLUDED.expiry_event, updated_at = EXCLUDED.updated_at",
        cmd.consent_id,
        cmd.participant_id,
        agency_id,
        status,
        version,
        dumps(terms),
        signature.model_dump_json() if signature else None,
        cmd.expiry.on,
        cmd.expiry.event.value if cmd.expiry.event else None,
        now,
    )


async def set_consent_status(
    conn: asyncpg.Connection,
    consent_id: UUID,
    status: str,
    now: datetime,
    *,
    version: int | None = None,
    signature: Signature | None = None,
) -> None:
    await conn.execute(
        "UPDATE consents SET status = $2, updated_at = $3, version = COALESCE($4, version),"
        " signature = COALESCE($5::jsonb, signature) WHERE consent_id = $1",
        consent_id,
        status,
        now,
        version,
        signature.model_dump_json() if signature else None,
    )


async def consent_ids_of(conn: asyncpg.Connection, participant_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT consent_id FROM consents WHERE participant_id = $1", participant_id)
    return [r["consent_id"] for r in rows]
