"""Intake's own tables as its command handlers see them: the participant and consent rows that
hold what events must not carry, the raw assessment answers, the disclosure ledger, and the
directory columns that follow from events.

:class:`PostgresTables` is what a unit of work carries in the service (``uow.tables``);
:class:`InMemoryTables` is its fake for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.intake.adapters import records, referral_records
from services.intake.domain.assessment import ScoredAssessment
from services.intake.domain.consent_terms import ConsentTerms, Signature
from services.intake.domain.enrolment import EnrolParticipant
from services.intake.domain.referral_inbox import Referral, ReferralStatus, disclosed_packet
from services.intake.projections import directory
from shared.catalogue.intake import ParticipantDischarged, ReferralRequested
from shared.keyring import KeyRing
from shared.streams import Written


class Tables(Protocol):
    async def owning_agency(self, participant_id: UUID) -> str | None: ...

    async def participant_status(self, participant_id: UUID, agency_id: str) -> str | None:
        """"active" or "discharged" for a participant of ``agency_id``; None for anyone else."""
        ...

    async def insert_participant(self, cmd: EnrolParticipant, agency_id: str, now: datetime) -> None: ...

    async def apply_directory(self, stored: Sequence[Written]) -> None:
        """The directory columns that follow from the participant's new events."""
        ...

    async def insert_assessment(
        self, scored: ScoredAssessment, agency_id: str, actor: str | None, risk: tuple[str, list[str]], now: datetime
    ) -> None: ...

    async def lock_consent(self, consent_id: UUID) -> None:
        """Hold the consent's row until commit (a referral checking it holds it FOR SHARE)."""
        ...

    async def consent_ids_of(self, participant_id: UUID, *, for_disclosure: bool = False) -> list[UUID]:
        """The participant's consents; ``for_disclosure`` holds them FOR SHARE until commit."""
        ...

    async def save_consent(
        self, cmd: ConsentTerms, agency_id: str, status: str, version: int, signature: Signature | None, now: datetime
    ) -> None: ...

    async def set_consent_status(
        self, consent_id: UUID, status: str, now: datetime, *, version: int | None = None,
        signature: Signature | None = None,
    ) -> None: ...

    async def open_referral(
        self, requested: ReferralRequested, agency_id: str, consent_version: int, note: str | None,
        actor: str | None = None,
    ) -> None:
        """The referral's row, with the snapshot of what the consent lets the receiving agency see
        (its disclosure-ledger line is written when the receiving agency is first shown it)."""
        ...

    async def pending_referrals(self, consent_id: UUID) -> list[Referral]:
        """The pending referrals made under a consent, held until commit."""
        ...

    async def mark_referral_withdrawn(self, referral_id: UUID, at: datetime, reason: str) -> None: ...


@dataclass(frozen=True)
class PostgresTables:
    conn: Any
    #: seals the participant's names, contacts and free text before they are written
    keys: KeyRing

    async def owning_agency(self, participant_id: UUID) -> str | None:
        return await records.owning_agency(self.conn, participant_id)

    async def participant_status(self, participant_id: UUID, agency_id: str) -> str | None:
        status: str | None = await self.conn.fetchval(
            "SELECT status FROM participants WHERE participant_id = $1 AND agency_id = $2", participant_id, agency_id
        )
        return status

    async def insert_participant(self, cmd: EnrolParticipant, agency_id: str, now: datetime) -> None:
        await records.insert_participant(self.conn, cmd, agency_id, now, self.keys)

    async def apply_directory(self, stored: Sequence[Written]) -> None:
        await directory.apply(self.conn, stored)

    async def insert_assessment(
        self, scored: ScoredAssessment, agency_id: str, actor: str | None, risk: tuple[str, list[str]], now: datetime
    ) -> None:
        await records.insert_assessment(self.conn, scored, agency_id, actor, risk, now, self.keys)

    async def lock_consent(self, consent_id: UUID) -> None:
        await self.conn.execute("SELECT 1 FROM consents WHERE consent_id = $1 FOR UPDATE", consent_id)

    async def consent_ids_of(self, participant_id: UUID, *, for_disclosure: bool = False) -> list[UUID]:
        if not for_disclosure:
            return await records.consent_ids_of(self.conn, participant_id)
        rows = await self.conn.fetch(
            "SELECT consent_id FROM consents WHERE participant_id = $1 FOR SHARE", participant_id
        )
        return [r["consent_id"] for r in rows]

    async def save_consent(
        self, cmd: ConsentTerms, agency_id: str, status: str, version: int, signature: Signature | None, now: datetime
    ) -> None:
        await records.save_consent(self.conn, cmd, agency_id, status, version, signature, now, self.keys)

    async def set_consent_status(
        self, consent_id: UUID, status: str, now: datetime, *, version: int | None = None,
        signature: Signature | None = None,
    ) -> None:
        await records.set_consent_status(self.conn, consent_id, status, now, self.keys, version=version,
                                         signature=signature)

    async def open_referral(
        self, requested: ReferralRequested, agency_id: str, consent_version: int, note: str | None,
        actor: str | None = None,
    ) -> None:
        person, assessments = await referral_records.source_material(self.conn, requested.participant_id, self.keys)
        packet = disclosed_packet(requested.information, person, assessments)
        await referral_records.insert(self.conn, requested, agency_id, consent_version, note, packet, self.keys, actor)

    async def pending_referrals(self, consent_id: UUID) -> list[Referral]:
        return await referral_records.pending_of_consent(self.conn, consent_id, self.keys)

    async def mark_referral_withdrawn(self, referral_id: UUID, at: datetime, reason: str) -> None:
        await referral_records.mark(self.conn, referral_id, ReferralStatus.WITHDRAWN, at, withdrawal_reason=reason)


@dataclass
class ConsentRow:
    participant_id: UUID
    agency_id: str
    status: str
    version: int
    signature: Signature | None = None


@dataclass
class InMemoryTables:
    #: participant -> (agency, status)
    participants: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    enrolments: dict[UUID, EnrolParticipant] = field(default_factory=dict)
    consents: dict[UUID, ConsentRow] = field(default_factory=dict)
    assessments: list[tuple[ScoredAssessment, str, tuple[str, list[str]]]] = field(default_factory=list)
    directory_events: list[Written] = field(default_factory=list)
    referrals: dict[UUID, tuple[Referral, str]] = field(default_factory=dict)  # referral -> (it, agency)

    async def owning_agency(self, participant_id: UUID) -> str | None:
        return self.participants[participant_id][0] if participant_id in self.participants else None

    async def participant_status(self, participant_id: UUID, agency_id: str) -> str | None:
        agency, status = self.participants.get(participant_id, (None, None))
        return status if agency == agency_id else None

    async def insert_participant(self, cmd: EnrolParticipant, agency_id: str, now: datetime) -> None:
        if cmd.participant_id in self.participants:
            raise ValueError("duplicate participant row")  # the primary key would refuse it
        self.participants[cmd.participant_id] = (agency_id, "active")
        self.enrolments[cmd.participant_id] = cmd

    async def apply_directory(self, stored: Sequence[Written]) -> None:
        for s in stored:
            self.directory_events.append(s)
            e = s.event
            if isinstance(e, ParticipantDischarged) and e.participant_id in self.participants:
                self.participants[e.participant_id] = (self.participants[e.participant_id][0], "discharged")

    async def insert_assessment(
        self, scored: ScoredAssessment, agency_id: str, actor: str | None, risk: tuple[str, list[str]], now: datetime
    ) -> None:
        self.assessments.append((scored, agency_id, risk))

    async def lock_consent(self, consent_id: UUID) -> None:
        return None

    async def consent_ids_of(self, participant_id: UUID, *, for_disclosure: bool = False) -> list[UUID]:
        return [cid for cid, row in self.consents.items() if row.participant_id == participant_id]

    async def save_consent(
        self, cmd: ConsentTerms, agency_id: str, status: str, version: int, signature: Signature | None, now: datetime
    ) -> None:
        self.consents[cmd.consent_id] = ConsentRow(cmd.participant_id, agency_id, status, version, signature)

    async def set_consent_status(
        self, consent_id: UUID, status: str, now: datetime, *, version: int | None = None,
        signature: Signature | None = None,
    ) -> None:
        row = self.consents.get(consent_id)
        if row is None:  # an UPDATE of no row
            return
        row.status = status
        row.version = row.version if version is None else version
        row.signature = signature or row.signature

    async def open_referral(
        self, requested: ReferralRequested, agency_id: str, consent_version: int, note: str | None,
        actor: str | None = None,
    ) -> None:
        referral = Referral(
            referral_id=requested.referral_id, participant_id=requested.participant_id, disclosing_agency_id=agency_id,
            recipient_agency_id=requested.recipient_agency_id, consent_id=requested.consent_id,
            information=tuple(requested.information), status=ReferralStatus.PENDING, disclosed={},
        )
        self.referrals[requested.referral_id] = (referral, agency_id)

    async def pending_referrals(self, consent_id: UUID) -> list[Referral]:
        return [r for r, _ in self.referrals.values() if r.consent_id == consent_id
                and r.status is ReferralStatus.PENDING]

    async def mark_referral_withdrawn(self, referral_id: UUID, at: datetime, reason: str) -> None:
        referral, agency = self.referrals[referral_id]
        self.referrals[referral_id] = (replace(referral, status=ReferralStatus.WITHDRAWN), agency)
