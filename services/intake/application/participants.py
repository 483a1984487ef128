"""Handlers for the relationship: enrol, assign / transfer, release to the queue, support-contact
consent, discharge (which also ends consents that were to expire at discharge)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from services.intake.adapters import records
from services.intake.domain import consent as consent_rules
from services.intake.domain.enrolment import (
    AssignSpecialist,
    ChangeSupportContactConsent,
    ChangeTimeZone,
    DischargeParticipant,
    EnrolmentForm,
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
    participant_aggregate,
)
from services.intake.domain.participant import decide_release_to_queue as decide_release
from services.intake.projections import directory
from shared.envelope import StoredEvent
from shared.events import DomainEvent
from shared.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)


def participant_stream(participant_id: UUID) -> str:
    return f"participant-{participant_id}"


def consent_stream(consent_id: UUID) -> str:
    return f"consent-{consent_id}"


def order(cls: type[M], form: BaseModel, **ids: object) -> M:
    """The domain order for an HTTP form plus the ids the service supplies (path or generated)."""
    return cls.model_validate({**form.model_dump(), **ids})


async def on_participant(
    uow: UnitOfWork,
    participant_id: UUID,
    agency_id: str,
    decide: Callable[[Participant], Sequence[DomainEvent]],
) -> tuple[Participant, list[StoredEvent]]:
    """Check the caller's agency owns the participant, then load, decide, append and project."""
    await records.require_participant(uow.conn, participant_id, agency_id)
    state, stored = await uow.execute(
        participant_aggregate,
        participant_stream(participant_id),
        lambda s, _v: decide(s),
        agency_id=agency_id,
        participant_id=participant_id,
    )
    await directory.apply(uow.conn, stored)
    return state, stored


async def enrol_participant(form: EnrolmentForm, uow: UnitOfWork, agency_id: str, now: datetime) -> UUID:
    cmd = order(EnrolParticipant, form)
    await uow.execute(
        participant_aggregate,
        participant_stream(cmd.participant_id),
        lambda s, _v: decide_enrol(s, cmd, now),
        agency_id=agency_id,
        participant_id=cmd.participant_id,
    )
    await records.insert_participant(uow.conn, cmd, agency_id, now)
    return cmd.participant_id


async def assign_specialist(cmd: AssignSpecialist, uow: UnitOfWork, agency_id: str, now: datetime) -> Participant:
    state, _ = await on_participant(uow, cmd.participant_id, agency_id, lambda s: decide_assign_specialist(s, cmd, now))
    return state


async def release_to_queue(cmd: ReleaseToQueue, uow: UnitOfWork, agency_id: str, now: datetime) -> Participant:
    state, _ = await on_participant(uow, cmd.participant_id, agency_id, lambda s: decide_release(s, cmd, now))
    return state


async def change_support_contact_consent(
    cmd: ChangeSupportContactConsent, uow: UnitOfWork, agency_id: str, now: datetime
) -> Participant:
    state, _ = await on_participant(
        uow, cmd.participant_id, agency_id, lambda s: decide_change_support_contact_consent(s, cmd, now)
    )
    return state


async def change_time_zone(cmd: ChangeTimeZone, uow: UnitOfWork, agency_id: str, now: datetime) -> Participant:
    state, _ = await on_participant(uow, cmd.participant_id, agency_id, lambda s: decide_change_time_zone(s, cmd, now))
    return state


async def discharge_participant(
    cmd: DischargeParticipant, uow: UnitOfWork, agency_id: str, now: datetime
) -> Participant:
    state, _ = await on_participant(uow, cmd.participant_id, agency_id, lambda s: decide_discharge(s, cmd, now))
    for consent_id in await records.consent_ids_of(uow.conn, cmd.participant_id):
        _, expired = await uow.execute(
            consent_rules.consent_aggregate,
            consent_stream(consent_id),
            lambda c, _v: consent_rules.decide_expire(c, now, participant_discharged=True),
            agency_id=agency_id,
            participant_id=cmd.participant_id,
        )
        if expired:
            await records.set_consent_status(uow.conn, consent_id, "expired", now)
            from services.intake.application import referral_inbox  # (it builds on this module)
            from shared.catalogue.intake import ReferralWithdrawalReason

            await referral_inbox.withdraw_pending(uow, consent_id, ReferralWithdrawalReason.CONSENT_EXPIRED, now)
    return state
