"""SQL of the referral inbox: the referrals table, the receiving side of the disclosure ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.intake.domain.referral_inbox import Referral, ReferralStatus
from shared.catalogue.intake import InformationCategory, ReferralRequested
from shared.keyring import KeyRing, ParticipantKeys
from shared.tenancy import system_scope

COLUMNS = (
    "referral_id, participant_id, disclosing_agency_id, recipient_agency_id, consent_id, consent_version, purpose,"
    " information::text AS information, redisclosure_notice, note, disclosed::text AS disclosed, requested_at,"
    " status, decided_at, decided_by, decline_reason, decline_note, withdrawal_reason, enrolled_participant_id"
)


def _json(text: str | None) -> Any:
    return orjson.loads(text) if text else None


async def source_material(
    conn: asyncpg.Connection, participant_id: UUID, keys: KeyRing
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The referring agency's row of the person and their scored assessments (oldest first)."""
    row = await conn.fetchrow(
        "SELECT display_name, recovery_start_date, primary_substances::text AS primary_substances, time_zone,"
        " enrolled_at, risk_level, risk_reasons::text AS risk_reasons FROM participants WHERE participant_id = $1",
        participant_id,
    )
    person = dict(row) if row else {}
    if row:
        opened = await keys.keys(conn, [participant_id])
        person["display_name"] = opened.open(participant_id, "participants.display_name", row["display_name"])
    person["primary_substances"] = _json(person.get("primary_substances")) or []
    person["risk_reasons"] = _json(person.get("risk_reasons")) or []
    rows = await conn.fetch(
        "SELECT completed_at, instruments::text AS instruments, scores::text AS scores FROM assessments"
        " WHERE participant_id = $1 ORDER BY completed_at",
        participant_id,
    )
    assessments = [{"completed_at": r["completed_at"], "instruments": _json(r["instruments"]),
                    "scores": _json(r["scores"])} for r in rows]
    return person, assessments


async def insert(conn: asyncpg.Connection, e: ReferralRequested, disclosing_agency_id: str, consent_version: int,
                 note: str | None, disclosed: dict[str, Any], keys: KeyRing, requested_by: str | None = None) -> None:
    pid = e.participant_id
    note = await keys.seal(conn, pid, disclosing_agency_id, "referrals.note", note)
    sealed = await keys.seal_json(conn, pid, disclosing_agency_id, "referrals.disclosed", disclosed)
    await conn.execute(
        "INSERT INTO referrals (referral_id, participant_id, disclosing_agency_id, recipient_agency_id, consent_id,"
        " consent_version, purpose, information, redisclosure_notice, note, disclosed, requested_at, requested_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13)",
        e.referral_id, e.participant_id, disclosing_agency_id, e.recipient_agency_id, e.consent_id, consent_version,
        e.purpose.value, orjson.dumps([i.value for i in e.information]).decode(), e.redisclosure_notice, note,
        sealed, e.requested_at, requested_by,
    )


async def record_disclosures(conn: asyncpg.Connection, referral_ids: list[UUID], at: datetime) -> int:
    """The referring agency's line of the disclosure ledger for each of these referrals that has
    none yet: the disclosure happened ``at`` (the receiving agency was first shown the referral's
    disclosed records, or accepted it). Idempotent: one line per referral, the first showing's time.
    A withdrawn referral discloses nothing. Returns the lines written. The line's note is the
    referral's, still sealed (its purpose stays ``referrals.note``: :data:`LEDGER_NOTE`)."""
    if not referral_ids:
        return 0
    status = await conn.execute(
        "INSERT INTO disclosures (disclosure_id, participant_id, agency_id, disclosed_at, recipient_agency_id,"
        " purpose, information, consent_id, consent_version, note, requested_by, direction, referral_id)"
        " SELECT referral_id, participant_id, disclosing_agency_id, $2, recipient_agency_id, purpose, information,"
        " consent_id, consent_version, note, requested_by, 'sent', referral_id FROM referrals"
        " WHERE referral_id = ANY($1::uuid[]) AND status <> 'withdrawn'"
        " ON CONFLICT (disclosure_id) DO NOTHING",
        referral_ids, at,
    )
    return int(status.split()[-1])


#: the purpose a ledger line's note is sealed under (copied from its referral)
LEDGER_NOTE = "referrals.note"


def _referral(row: asyncpg.Record, opened: ParticipantKeys) -> Referral:
    disclosed = opened.open_json(row["participant_id"], "referrals.disclosed", _json(row["disclosed"]))
    return Referral(
        referral_id=row["referral_id"], participant_id=row["participant_id"],
        disclosing_agency_id=row["disclosing_agency_id"], recipient_agency_id=row["recipient_agency_id"],
        consent_id=row["consent_id"], information=tuple(InformationCategory(i) for i in _json(row["information"])),
        status=ReferralStatus(row["status"]), disclosed=disclosed or {},
    )


async def load(conn: asyncpg.Connection, referral_id: UUID, keys: KeyRing, *, lock: bool = False) -> Referral | None:
    """One referral (the referring participant's key looked up in the caller's scope: the
    receiving agency loads it inside the system scope of its referral routes)."""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM referrals WHERE referral_id = $1"
                              + (" FOR UPDATE" if lock else ""), referral_id)
    if row is None:
        return None
    return _referral(row, await keys.keys(conn, [row["participant_id"]]))


async def pending_of_consent(conn: asyncpg.Connection, consent_id: UUID, keys: KeyRing) -> list[Referral]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM referrals WHERE consent_id = $1 AND status = 'pending'"
                            " FOR UPDATE", consent_id)
    opened = await keys.keys(conn, [r["participant_id"] for r in rows])
    return [_referral(r, opened) for r in rows]


async def mark(conn: asyncpg.Connection, referral_id: UUID, status: ReferralStatus, at: datetime, *,
               by: str | None = None, decline_reason: str | None = None, decline_note: str | None = None,
               withdrawal_reason: str | None = None, enrolled_participant_id: UUID | None = None,
               keys: KeyRing | None = None) -> None:
    if decline_note is not None:
        assert keys is not None, "a decline note is sealed under the referred participant's key"
        owner = await conn.fetchrow("SELECT participant_id, disclosing_agency_id FROM referrals"
                                    " WHERE referral_id = $1", referral_id)
        if owner is not None:
            decline_note = await keys.seal(conn, owner["participant_id"], owner["disclosing_agency_id"],
                                           "referrals.decline_note", decline_note)
    await conn.execute(
        "UPDATE referrals SET status = $2, decided_at = $3, decided_by = $4, decline_reason = $5, decline_note = $6,"
        " withdrawal_reason = $7, enrolled_participant_id = $8 WHERE referral_id = $1",
        referral_id, status.value, at, by, decline_reason, decline_note, withdrawal_reason, enrolled_participant_id,
    )


async def record_receipt(conn: asyncpg.Connection, disclosure_id: UUID, referral: Referral, received_at: datetime,
                         purpose: str, consent_version: int, actor: str | None, enrolled_participant_id: UUID) -> None:
    """The receiving agency's line of the disclosure ledger, on its new participant."""
    await conn.execute(
        "INSERT INTO disclosures (disclosure_id, participant_id, agency_id, disclosed_at, recipient_agency_id,"
        " purpose, information, consent_id, consent_version, note, requested_by, direction, source_agency_id,"
        " referral_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, NULL, $10, 'received', $11, $12)",
        disclosure_id, enrolled_participant_id, referral.recipient_agency_id, received_at,
        referral.recipient_agency_id, purpose, orjson.dumps([i.value for i in referral.information]).decode(),
        referral.consent_id, consent_version, actor, referral.disclosing_agency_id, referral.referral_id,
    )


async def link_enrolment(conn: asyncpg.Connection, participant_id: UUID, referral: Referral) -> None:
    await conn.execute("UPDATE participants SET referral_id = $2, referral_consent_id = $3 WHERE participant_id = $1",
                       participant_id, referral.referral_id, referral.consent_id)


def view(row: asyncpg.Record, opened: ParticipantKeys, *, receiving: bool) -> dict[str, Any]:
    """A referral as JSON. The receiving agency sees the disclosed categories and the notice but
    not the referring agency's participant id; the referring agency sees the outcome. Texts of an
    erased participant read ``null`` with ``erased``/``erased_at``."""
    pid = row["participant_id"]
    out: dict[str, Any] = {
        "referral_id": str(row["referral_id"]),
        "status": row["status"],
        "disclosing_agency_id": row["disclosing_agency_id"],
        "recipient_agency_id": row["recipient_agency_id"],
        "consent_id": str(row["consent_id"]),
        "purpose": row["purpose"],
        "information": _json(row["information"]),
        "requested_at": row["requested_at"].isoformat(),
        "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        "decline_reason": row["decline_reason"],
        "withdrawal_reason": row["withdrawal_reason"],
    }
    if receiving:
        out |= {"redisclosure_notice": row["redisclosure_notice"],
                "note": opened.open(pid, "referrals.note", row["note"]),
                "disclosed": opened.open_json(pid, "referrals.disclosed", _json(row["disclosed"])),
                "enrolled_participant_id": str(row["enrolled_participant_id"])
                if row["enrolled_participant_id"] else None,
                "decline_note": opened.open(pid, "referrals.decline_note", row["decline_note"])}
    else:
        out |= {"participant_id": str(pid)}
    return opened.mark(out, pid)


#: A pending referral is shown only while its consent is active: fail closed even before the
#: expiry sweep has run (a consent past its date allows nothing).
_STILL_ALLOWED = (
    "(status <> 'pending' OR EXISTS (SELECT 1 FROM consents c WHERE c.consent_id = referrals.consent_id"
    " AND c.status = 'active' AND (c.expires_on IS NULL OR c.expires_on >= current_date)))"
)


async def incoming(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str, statuses: list[str], keys: KeyRing,
                   referral_id: UUID | None = None, *, limit: int | None = None,
                   offset: int = 0) -> list[dict[str, Any]]:
    """The receiving agency's inbox (withdrawn referrals never appear), oldest first.

    Runs in the system scope: whether a pending referral may still be shown depends on the
    referring agency's consent row, which the receiving agency cannot see; the query names the
    recipient explicitly."""
    with system_scope():
        found = await conn.fetch(
            f"SELECT {COLUMNS} FROM referrals WHERE recipient_agency_id = $1 AND status = ANY($2::text[])"
            f" AND status <> 'withdrawn' AND ($3::uuid IS NULL OR referral_id = $3) AND {_STILL_ALLOWED}"
            " ORDER BY requested_at, referral_id LIMIT $4 OFFSET $5",
            agency_id, statuses, referral_id, limit, offset,
        )
        opened = await keys.keys(conn, [r["participant_id"] for r in found])
    return [view(r, opened, receiving=True) for r in found]


async def outgoing(
    conn: asyncpg.Connection | asyncpg.Pool, agency_id: str, keys: KeyRing, participant_id: UUID | None = None,
    statuses: list[str] | None = None, *, limit: int | None = None, offset: int = 0,
) -> list[dict[str, Any]]:
    """The referring agency's referrals (of one participant, or all) with their outcome, newest first."""
    found = await conn.fetch(
        f"SELECT {COLUMNS} FROM referrals WHERE disclosing_agency_id = $1"
        " AND ($2::uuid IS NULL OR participant_id = $2) AND ($3::text[] IS NULL OR status = ANY($3::text[]))"
        " ORDER BY requested_at DESC, referral_id LIMIT $4 OFFSET $5",
        agency_id, participant_id, statuses, limit, offset,
    )
    opened = await keys.keys(conn, [r["participant_id"] for r in found])
    return [view(r, opened, receiving=False) for r in found]
