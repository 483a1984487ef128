"""Erasure of a participant by crypto-shredding: intake destroys its data key for the person (a
tombstone keeps when, by whom and why) and appends ``ParticipantErased`` to the participant's
stream, in one transaction; the other services destroy their own keys when they receive it.

Idempotent: erasing an erased participant changes nothing and answers the first erasure's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.intake.adapters.streams import participants
from services.intake.application.participants import require_participant
from shared.catalogue.intake import ParticipantErased
from shared.keyring import KeyRing
from shared.uow import UnitOfWork

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ErasureForm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: why (kept in intake's tombstone only, never in the event)
    reason: Reason


class EraseParticipant(ErasureForm):
    participant_id: UUID


@dataclass(frozen=True)
class Erasure:
    participant_id: UUID
    erased_at: datetime
    #: False when the participant had been erased already (nothing changed)
    erased_now: bool


async def erase_participant(cmd: EraseParticipant, uow: UnitOfWork) -> Erasure:
    pid = cmd.participant_id
    await require_participant(uow, pid)  # another agency's participant: 404, like a missing one
    keys: KeyRing = uow.keys
    erased_now, at = await keys.shred(uow.conn, pid, uow.caller_agency, at=uow.now, by=uow.actor, reason=cmd.reason)
    if erased_now:
        await participants.execute(uow, pid, lambda _: [ParticipantErased(participant_id=pid, erased_at=at)],
                                   participant_id=pid)
    return Erasure(pid, at, erased_now)
