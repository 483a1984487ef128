"""The escalation ladder for unanswered alerts: specialist -> supervisor -> agency admin."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services.notifications.domain.vocabulary import Role, Urgency

if TYPE_CHECKING:
    from services.notifications.domain.directory import Recipients

LADDER: tuple[Role, ...] = (Role.SPECIALIST, Role.SUPERVISOR, Role.AGENCY_ADMIN)

DEFAULT_ACK_TIMEOUT = timedelta(minutes=15)


def next_level(role: Role) -> Role | None:
    """The role one level up, or None at the top (or for roles outside the staff ladder)."""
    if role not in LADDER:
        return None
    index = LADDER.index(role)
    return LADDER[index + 1] if index + 1 < len(LADDER) else None


def escalation_target(role: Role, current_holder: str, recipients: Recipients) -> tuple[Role, str] | None:
    """The first higher level held by somebody other than the current recipient.

    Levels nobody holds are skipped (an agency without an admin still reaches its supervisor),
    and so is a level held by the person who already failed to answer.
    """
    level = next_level(role)
    while level is not None:
        holder = recipients.holder(level)
        if holder and holder != current_holder:
            return level, holder
        level = next_level(level)
    return None


def acknowledge_deadline(raised_at: datetime, urgency: Urgency, timeout: timedelta) -> datetime | None:
    """Urgent alerts must be acknowledged by this time; routine ones never escalate."""
    if timeout <= timedelta(0):
        raise ValueError("the acknowledgement timeout must be positive")
    return raised_at + timeout if urgency is Urgency.URGENT else None
