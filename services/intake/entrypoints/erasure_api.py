"""``POST /v1/participants/{id}/erasure``: an agency admin erases a participant's names, contact
details and free text in every service (crypto-shredding; see docs/security.md)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.intake.application import erasure
from services.intake.application.participants import order
from services.intake.entrypoints.common import Json
from shared.routes import AdminCall

router = APIRouter(prefix="/v1", tags=["intake"])


@router.post("/participants/{participant_id}/erasure")
async def erase(participant_id: UUID, body: erasure.ErasureForm, call: AdminCall) -> Json:
    """Destroy intake's key for this participant and tell every service to destroy theirs
    (``ParticipantErased``). Their texts read ``null`` with ``"erased": true`` from then on; ids,
    codes, scores, counts, the timeline's lines and the disclosure ledger stay. Idempotent: a
    repeated call answers the first erasure's time."""
    cmd = order(erasure.EraseParticipant, body, participant_id=participant_id)
    done = await call.run(erasure.erase_participant, cmd)
    return {"participant_id": str(done.participant_id), "erased": True, "erased_at": done.erased_at.isoformat(),
            "erased_now": done.erased_now}
