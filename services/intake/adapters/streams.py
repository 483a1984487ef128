"""Intake's streams: the kernel's stream repository for participants (with the directory columns
projected in the same transaction) and for consents."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.intake.adapters.tables import Tables
from services.intake.domain.consent import Consent, consent_aggregate
from services.intake.domain.participant import Participant, participant_aggregate
from shared.streams import Changed, StreamRepository
from shared.uow import UnitOfWork


def participant_stream(participant_id: UUID) -> str:
    return f"participant-{participant_id}"


def consent_stream(consent_id: UUID) -> str:
    return f"consent-{consent_id}"


async def project_directory(uow: UnitOfWork, changes: Sequence[Changed[Participant]]) -> None:
    tables: Tables = uow.tables
    for changed in changes:
        await tables.apply_directory(changed.stored)


participants: StreamRepository[UUID, Participant] = StreamRepository(
    participant_aggregate, participant_stream, project=project_directory
)
consents: StreamRepository[UUID, Consent] = StreamRepository(consent_aggregate, consent_stream)
