"""The all-topics consumer's handler: timeline, caseload and overview in one transaction."""

from __future__ import annotations

from services.monitoring.projections import caseload, overview, timeline
from shared.cloudevents import ReceivedEvent
from shared.uow import UnitOfWork

CONSUMER = "read-models"


async def apply(received: ReceivedEvent, uow: UnitOfWork) -> None:
    await timeline.apply(received, uow.conn)
    await caseload.apply(received, uow.conn)
    await overview.apply(received, uow.conn)
