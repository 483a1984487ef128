"""Reads: straight from intake's records, always scoped to the caller's agency, never through
the domain. Each read of one participant's data is written to the access log by the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.intake.adapters.records import PARTICIPANT_NOT_FOUND, TEXT_KEYS, open_texts
from services.intake.adapters.referral_records import LEDGER_NOTE
from services.intake.domain.assessment import RecordAssessment, score_assessment
from services.intake.domain.referral import years_cutoff
from shared import access_audit
from shared.domain import NotFound
from shared.keyring import KeyRing, ParticipantKeys

_PARTICIPANT_COLUMNS = (
    "participant_id, status, specialist_id, display_name, contact::text AS contact, recovery_start_date,"
    " primary_substances::text AS primary_substances, preferred_channel, preferred_hours::text AS preferred_hours,"
    " risk_level, risk_reasons::text AS risk_reasons, enrolled_at, waiting_since, discharged_at, discharge_reason,"
    " time_zone"
)


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _participant(row: asyncpg.Record, with_identity: bool, opened: ParticipantKeys) -> dict[str, Any]:
    pid = row["participant_id"]
    out: dict[str, Any] = {
        "participant_id": str(row["participant_id"]),
        "status": row["status"],
        "specialist_id": row["specialist_id"],
        "recovery_start_date": _iso(row["recovery_start_date"]),
        "primary_substances": _json(row["primary_substances"]),
        "preferred_channel": row["preferred_channel"],
        "preferred_hours": _json(row["preferred_hours"]),
        "time_zone": row["time_zone"],
        "risk_level": row["risk_level"],
        "risk_reasons": _json(row["risk_reasons"]),
        "enrolled_at": _iso(row["enrolled_at"]),
        "waiting_since": _iso(row["waiting_since"]),
        "discharged_at": _iso(row["discharged_at"]),
        "discharge_reason": row["discharge_reason"],
        "display_name": opened.open(pid, "participants.display_name", row["display_name"]),
    }
    if with_identity:
        out["contact"] = opened.open_json(pid, "participants.contact", _json(row["contact"]))
    return opened.mark(out, pid)


async def _rows(pool: asyncpg.Pool, keys: KeyRing, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    opened = await keys.keys(pool, [r["participant_id"] for r in rows])
    return [_participant(r, False, opened) for r in rows]


async def participant(pool: asyncpg.Pool, agency_id: str, participant_id: UUID, keys: KeyRing) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE participant_id = $1 AND agency_id = $2",
        participant_id,
        agency_id,
    )
    if row is None:
        raise NotFound(PARTICIPANT_NOT_FOUND, field="participant_id")
    contacts = await pool.fetch(
        "SELECT support_contact_id, name, relation, channel, phone, email, consent_to_contact FROM support_contacts"
        " WHERE participant_id = $1 AND agency_id = $2",
        participant_id,
        agency_id,
    )
    opened = await keys.keys(pool, [participant_id])
    out = _participant(row, True, opened)
    fields = ("name", "phone", "email")
    listed = [
        opened.mark({**dict(c), "support_contact_id": str(c["support_contact_id"]),
                     **{f: opened.open(participant_id, f"support_contacts.{f}", c[f]) for f in fields}},
                    participant_id)
        for c in contacts
    ]
    out["support_contacts"] = sorted(listed, key=lambda c: (c["name"] or "", c["support_contact_id"]))
    return out


async def participants(
    pool: asyncpg.Pool, agency_id: str, keys: KeyRing, *, specialist_id: str | None = None, status: str | None = None,
    limit: int | None = None, offset: int = 0, participant_ids: list[UUID] | None = None,
) -> list[dict[str, Any]]:
    """The agency's participants in enrolment order; ``participant_ids`` keeps only those (ids of
    another agency or of nobody are simply not found)."""
    rows = await pool.fetch(
        f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE agency_id = $1"
        " AND ($2::text IS NULL OR specialist_id = $2) AND ($3::text IS NULL OR status = $3)"
        " AND ($6::uuid[] IS NULL OR participant_id = ANY($6))"
        " ORDER BY enrolled_at, participant_id LIMIT $4 OFFSET $5",
        agency_id,
        specialist_id,
        status,
        limit,
        offset,
        participant_ids,
    )
    return await _rows(pool, keys, rows)


async def waiting_queue(
    pool: asyncpg.Pool, agency_id: str, keys: KeyRing, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Participants waiting for a specialist, longest wait first."""
    rows = await pool.fetch(
        f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE agency_id = $1 AND waiting_since IS NOT NULL"
        " AND status = 'active' ORDER BY waiting_since, participant_id LIMIT $2 OFFSET $3",
        agency_id,
        limit,
        offset,
    )
    return await _rows(pool, keys, rows)


async def specialists(pool: asyncpg.Pool, agency_id: str, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """The agency's specialists as assignments name them, with how many people each supports, by id."""
    rows = await pool.fetch(
        "SELECT specialist_id, count(*) FILTER (WHERE status = 'active') AS active,"
        " count(*) FILTER (WHERE status = 'discharged') AS discharged FROM participants"
        " WHERE agency_id = $1 AND specialist_id IS NOT NULL"
        " GROUP BY specialist_id ORDER BY specialist_id LIMIT $2 OFFSET $3",
        agency_id,
        limit,
        offset,
    )
    return [
        {
            "specialist_id": r["specialist_id"],
            "active_participants": r["active"],
            "discharged_participants": r["discharged"],
        }
        for r in rows
    ]


_ASSESSMENT_COLUMNS = (
    "assessment_id, participant_id, completed_at, recorded_by, instruments::text AS instruments,"
    " answers::text AS answers, scores::text AS scores, risk_level, risk_reasons::text AS risk_reasons"
)


def _assessment(row: asyncpg.Record, opened: ParticipantKeys) -> dict[str, Any]:
    pid = row["participant_id"]
    return opened.mark({
        "assessment_id": str(row["assessment_id"]),
        "participant_id": str(row["participant_id"]),
        "completed_at": _iso(row["completed_at"]),
        "recorded_by": row["recorded_by"],
        "instruments": _json(row["instruments"]),
        "answers": open_texts(opened, pid, "assessments.answers", _json(row["answers"])),
        "scores": _json(row["scores"]),
        "risk_level": row["risk_level"],
        "risk_reasons": _json(row["risk_reasons"]),
    }, pid)


async def assessments(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, keys: KeyRing, *, limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The participant's assessments, oldest first (``limit`` of them after ``offset``, or all)."""
    await _require(pool, agency_id, participant_id)
    rows = await pool.fetch(
        f"SELECT {_ASSESSMENT_COLUMNS} FROM assessments WHERE participant_id = $1 AND agency_id = $2"
        " ORDER BY completed_at, assessment_id LIMIT $3 OFFSET $4",
        participant_id,
        agency_id,
        limit,
        offset,
    )
    opened = await keys.keys(pool, [participant_id])
    return [_assessment(r, opened) for r in rows]


async def assessment(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, assessment_id: UUID, keys: KeyRing
) -> dict[str, Any]:
    await _require(pool, agency_id, participant_id)
    row = await pool.fetchrow(
        f"SELECT {_ASSESSMENT_COLUMNS} FROM assessments WHERE assessment_id = $1 AND participant_id = $2"
        " AND agency_id = $3",
        assessment_id,
        participant_id,
        agency_id,
    )
    if row is None:
        raise NotFound("assessment not found", field="assessment_id")
    return _assessment(row, await keys.keys(pool, [participant_id]))


def rescored(record: dict[str, Any]) -> tuple[Any, datetime]:
    """The stored raw answers scored again (for the FHIR export) and the completion time."""
    # An erased participant's own words read null; scoring never looks at them.
    answers = _fill_erased(record["answers"])
    cmd = RecordAssessment.model_validate(
        {**answers, "participant_id": record["participant_id"], "assessment_id": record["assessment_id"]}
    )
    return score_assessment(cmd), datetime.fromisoformat(record["completed_at"])


def _fill_erased(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("(erased)" if k in TEXT_KEYS and v is None else _fill_erased(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_erased(v) for v in value]
    return value


_CONSENT_COLUMNS = (
    "consent_id, participant_id, status, version, terms::text AS terms, signature::text AS signature,"
    " expires_on, expiry_event, created_at, updated_at"
)


def _consent(row: asyncpg.Record, now: datetime, opened: ParticipantKeys) -> dict[str, Any]:
    pid = row["participant_id"]
    status = row["status"]
    if status == "active" and row["expires_on"] is not None and now.date() > row["expires_on"]:
        status = "expired"  # fail closed even before the sweep records it
    return opened.mark({
        "consent_id": str(row["consent_id"]),
        "participant_id": str(row["participant_id"]),
        "status": status,
        "version": row["version"],
        **open_texts(opened, pid, "consents.terms", _json(row["terms"])),
        "signature": opened.open_json(pid, "consents.signature", _json(row["signature"])),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }, pid)


async def consents(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, keys: KeyRing, *, limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The participant's consents, oldest first (``limit`` of them after ``offset``, or all)."""
    await _require(pool, agency_id, participant_id)
    rows = await pool.fetch(
        f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE participant_id = $1 AND agency_id = $2"
        " ORDER BY created_at, consent_id LIMIT $3 OFFSET $4",
        participant_id,
        agency_id,
        limit,
        offset,
    )
    now = datetime.now(UTC)
    opened = await keys.keys(pool, [participant_id])
    return [_consent(r, now, opened) for r in rows]


async def consent(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, consent_id: UUID, keys: KeyRing
) -> dict[str, Any]:
    await _require(pool, agency_id, participant_id)
    row = await pool.fetchrow(
        f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE consent_id = $1 AND participant_id = $2 AND agency_id = $3",
        consent_id,
        participant_id,
        agency_id,
    )
    if row is None:
        raise NotFound("consent not found", field="consent_id")
    return _consent(row, datetime.now(UTC), await keys.keys(pool, [participant_id]))


async def disclosures(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, years: int | None, keys: KeyRing, *,
    limit: int | None = None, offset: int = 0,
) -> list[dict[str, Any]]:
    """The disclosure ledger of one participant, newest first (optionally only the last ``years``;
    ``limit`` lines after ``offset``, or all)."""
    await _require(pool, agency_id, participant_id)
    rows = await pool.fetch(
        "SELECT disclosure_id, participant_id, disclosed_at, recipient_agency_id, purpose,"
        " information::text AS information, consent_id, consent_version, note, requested_by, direction,"
        " source_agency_id, referral_id FROM disclosures"
        " WHERE participant_id = $1 AND agency_id = $2 AND ($3::timestamptz IS NULL OR disclosed_at >= $3)"
        " ORDER BY disclosed_at DESC, disclosure_id LIMIT $4 OFFSET $5",
        participant_id,
        agency_id,
        years_cutoff(years, datetime.now(UTC)) if years else None,
        limit,
        offset,
    )
    opened = await keys.keys(pool, [participant_id])
    return [
        opened.mark({
            "disclosure_id": str(r["disclosure_id"]),
            "referral_id": str(r["referral_id"] or r["disclosure_id"]),
            # sent: this agency disclosed; received: it accepted a partner's referral under consent
            "direction": r["direction"],
            "source_agency_id": r["source_agency_id"],
            "disclosed_at": _iso(r["disclosed_at"]),
            "recipient_agency_id": r["recipient_agency_id"],
            "purpose": r["purpose"],
            "information": list(_json(r["information"])),
            "consent_id": str(r["consent_id"]),
            "consent_version": r["consent_version"],
            "note": opened.open(participant_id, LEDGER_NOTE, r["note"]),
            "requested_by": r["requested_by"],
        }, participant_id)
        for r in rows
    ]


async def access_log(
    pool: asyncpg.Pool, agency_id: str, participant_id: UUID, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Who read or exported this participant's data, newest first (kept, append-only, for 6 years+)."""
    await _require(pool, agency_id, participant_id)
    return await access_audit.read(pool, agency_id=agency_id, participant_id=participant_id, limit=limit,
                                   offset=offset)


async def _require(pool: asyncpg.Pool, agency_id: str, participant_id: UUID) -> None:
    found = await pool.fetchval(
        "SELECT 1 FROM participants WHERE participant_id = $1 AND agency_id = $2", participant_id, agency_id
    )
    if not found:
        raise NotFound(PARTICIPANT_NOT_FOUND, field="participant_id")
