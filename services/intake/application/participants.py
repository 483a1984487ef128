"""Handlers for the relationship: enrol, assign / transfer, release to the queue, support-contact
consent, time zone, discharge (which also ends consents that were to expire at discharge)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from services.intake.adapters.records import PARTICIPANT_NOT_FOUND
from services.intake.adapters.streams import consents, participants
from services.intake.adapters.tables import Tables
from services.intake.domain import consent as consent_rules
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeParticipant,
    EnrolParticipant,
    ReleaseToQueue,
)
from services.intake.domain.participant import (
    Participant,
    decide_assign_specialist,
    decide_change_support_contact_consent,
    decide_change_time_zone,
    decide_discharge,
    decide_enrol,
)
from services.intake.domain.participant import decide_release_to_queue as decide_release
from shared.catalogue.intake import ReferralWithdrawalReason
from shared.domain import NotFound
from shared.events import DomainEvent
from shared.streams import Changed
from shared.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)


def order(cls: type[M], form: BaseModel, **ids: object) -> M:
    """The domain order for an HTTP form plus the ids the service supplies (path or generated)."""
    return cls.model_validate({**form.model_dump(), **ids})


async def require_participant(uow: UnitOfWork, participant_id: UUID) -> str:
    """The participant's status ("active" or "discharged"). Another agency's participant answers
    exactly like a missing one (fail closed)."""
    tables: Tables = uow.tables
    status = await tables.participant_status(participant_id, uow.caller_agency)
    if status is None:
        raise NotFound(PARTICIPANT_NOT_FOUND, field="participant_id")
    return status


async def on_participant(
    uow: UnitOfWork, participant_id: UUID, decide: Callable[[Participant], Sequence[DomainEvent]]
) -> Changed[Participant]:
    """Check the caller's agency owns the participant, then load, decide, append and project."""
    await require_participant(uow, participant_id)
    return await participants.execute(uow, participant_id, decide, participant_id=participant_id)


async def enrol_participant(cmd: EnrolParticipant, uow: UnitOfWork) -> UUID:
    await participants.execute(
        uow, cmd.participant_id, lambda s: decide_enrol(s, cmd, uow.now), participant_id=cmd.participant_id
    )
    tables: Tables = uow.tables
    await tables.insert_participant(cmd, uow.caller_agency, uow.now)
    return cmd.participant_id


async def assign_specialist(cmd: AssignSpecialist, uow: UnitOfWork) -> Participant:
    return (await on_participant(uow, cmd.participant_id, lambda s: decide_assign_specialist(s, cmd, uow.now))).state


async def release_to_queue(cmd: ReleaseToQueue, uow: UnitOfWork) -> Participant:
    return (await on_participant(uow, cmd.participant_id, lambda s: decide_release(s, cmd, uow.now))).state


async def change_support_contact_consent(cmd: ChangeSupportContactConsent, uow: UnitOfWork) -> Participant:
    decide = decide_change_support_contact_consent
    return (await on_participant(uow, cmd.participant_id, lambda s: decide(s, cmd, uow.now))).state


async def change_time_zone(cmd: ChangeTimeZone, uow: UnitOfWork) -> Participant:
    return (await on_participant(uow, cmd.participant_id, lambda s: decide_change_time_zone(s, cmd, uow.now))).state


async def discharge_participant(cmd: DischargeParticipant, uow: UnitOfWork) -> Participant:
    discharged = await on_participant(uow, cmd.participant_id, lambda s: decide_discharge(s, cmd, uow.now))
    tables: Tables = uow.tables
    for consent_id in await tables.consent_ids_of(cmd.participant_id):
        expired = await consents.execute(
            uow,
            consent_id,
            lambda c: consent_rules.decide_expire(c, uow.now, participant_discharged=True),
            participant_id=cmd.participant_id,
        )
        if expired.stored:
            await tables.set_consent_status(consent_id, "expired", uow.now)
            from services.intake.application import referral_inbox  # (it builds on this module)

            await referral_inbox.withdraw_pending(uow, consent_id, ReferralWithdrawalReason.CONSENT_EXPIRED)
    return discharged.state
