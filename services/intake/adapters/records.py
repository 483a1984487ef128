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
from shared.keyring import KeyRing, ParticipantKeys, seal_with

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


def map_texts(value: Any, seal: Any) -> Any:
    """``value`` with every ``description`` (the participant's own words) passed through ``seal``."""
    if isinstance(value, dict):
        return {k: (seal(v) if k in TEXT_KEYS and isinstance(v, str) else map_texts(v, seal))
                for k, v in value.items()}
    if isinstance(value, list):
        return [map_texts(v, seal) for v in value]
    return value


#: keys of free text inside intake's JSON documents (assessment answers, consent terms)
TEXT_KEYS = frozenset({"description", "information_description"})


async def seal_texts(conn: Any, keys: KeyRing, participant_id: UUID, agency_id: str, purpose: str, doc: Any) -> Any:
    """``doc`` with its free-text values (:data:`TEXT_KEYS`) sealed; codes and numbers stay readable."""
    key = await keys.key_for(conn, participant_id, agency_id)
    return map_texts(doc, lambda text: None if key is None else seal_with(key, participant_id, purpose, text))


def open_texts(opened: ParticipantKeys, participant_id: UUID, purpose: str, doc: Any) -> Any:
    return map_texts(doc, lambda text: opened.open(participant_id, purpose, text))


async def insert_participant(
    conn: asyncpg.Connection, cmd: EnrolParticipant, agency_id: str, now: datetime, keys: KeyRing
) -> None:
    seal = await keys.sealer(conn, cmd.participant_id, agency_id)
    await conn.execute(
        "INSERT INTO participants (participant_id, agency_id, specialist_id, status, display_name, contact,"
        " recovery_start_date, primary_substances, preferred_channel, preferred_hours, enrolled_at, waiting_since,"
        " time_zone) VALUES ($1, $2, $3, 'active', $4, $5::jsonb, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12)",
        cmd.participant_id,
        agency_id,
        cmd.specialist_id,
        seal.text("participants.display_name", cmd.display_name),
        seal.json("participants.contact", cmd.contact.model_dump(mode="json") if cmd.contact else None),
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
            seal.text("support_contacts.name", c.name),
            c.relation.value,
            c.channel.value,
            seal.text("support_contacts.phone", c.phone),
            seal.text("support_contacts.email", c.email),
            c.consent_to_contact,
        )


async def insert_assessment(
    conn: asyncpg.Connection,
    scored: ScoredAssessment,
    agency_id: str,
    actor: str | None,
    risk: tuple[str, list[str]],
    now: datetime,
    keys: KeyRing,
) -> None:
    cmd = scored.command
    answers = cmd.model_dump(mode="json", exclude={"participant_id", "assessment_id"}, exclude_none=True)
    answers = await seal_texts(conn, keys, cmd.participant_id, agency_id, "assessments.answers", answers)
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
    keys: KeyRing,
) -> None:
    """Insert or replace the consent document (terms and signature) with its current status."""
    terms = cmd.model_dump(mode="json", exclude={"participant_id", "consent_id", "signature"})
    terms = await seal_texts(conn, keys, cmd.participant_id, agency_id, "consents.terms", terms)
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
        await seal_signature(conn, keys, cmd.participant_id, agency_id, signature),
        cmd.expiry.on,
        cmd.expiry.event.value if cmd.expiry.event else None,
        now,
    )


async def seal_signature(
    conn: Any, keys: KeyRing, participant_id: UUID, agency_id: str, signature: Signature | None
) -> str | None:
    """The signature (the signer's name) sealed, as JSON text for the ``jsonb`` column."""
    if signature is None:
        return None
    signed = signature.model_dump(mode="json")
    return await keys.seal_json(conn, participant_id, agency_id, "consents.signature", signed)


async def set_consent_status(
    conn: asyncpg.Connection,
    consent_id: UUID,
    status: str,
    now: datetime,
    keys: KeyRing,
    *,
    version: int | None = None,
    signature: Signature | None = None,
) -> None:
    sealed = None
    if signature is not None:
        owner = await conn.fetchrow("SELECT participant_id, agency_id FROM consents WHERE consent_id = $1", consent_id)
        if owner is None:
            return  # an UPDATE of no row
        sealed = await seal_signature(conn, keys, owner["participant_id"], owner["agency_id"], signature)
    await conn.execute(
        "UPDATE consents SET status = $2, updated_at = $3, version = COALESCE($4, version),"
        " signature = COALESCE($5::jsonb, signature) WHERE consent_id = $1",
        consent_id,
        status,
        now,
        version,
        sealed,
    )


async def consent_ids_of(conn: asyncpg.Connection, participant_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT consent_id FROM consents WHERE participant_id = $1", participant_id)
    return [r["consent_id"] for r in rows]
