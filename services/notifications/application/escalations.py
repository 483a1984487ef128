"""The escalation sweep: urgent alerts nobody acknowledged in time move one level up.

Each alert is escalated in its own transaction; one that fails for a reason other than the
database being in trouble (an unreadable alert stream, a decision that raises) is set aside
(loop ``notifications.escalations``) and the sweep goes on with the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import structlog

from services.notifications.adapters import repository
from services.notifications.adapters.streams import alerts
from services.notifications.application.deliver import deliver
from services.notifications.domain.alerts import decide_escalate, escalation_intent
from services.notifications.domain.directory import ParticipantRecord, recipients_for
from services.notifications.settings import NotificationSettings
from shared.catalogue.notifications import AlertEscalated
from shared.envelope import Metadata
from shared.polling import PollingWorker, not_set_aside, set_aside, should_set_aside
from shared.runtime import Runtime

log = structlog.get_logger(__name__)

LOOP = "notifications.escalations"
DUE = f"""
SELECT alert_id FROM alerts
WHERE acknowledged_at IS NULL AND acknowledge_by IS NOT NULL AND acknowledge_by <= now()
AND {not_set_aside(LOOP, "alert_id")}
ORDER BY acknowledge_by LIMIT $1
"""


async def escalate_due(rt: Runtime, cfg: NotificationSettings, limit: int = 100) -> int:
    """Escalate every overdue alert (each in its own transaction); returns how many moved."""
    moved = 0
    for row in await rt.pool.fetch(DUE, limit):
        try:
            if await _escalate_one(rt, cfg, row["alert_id"]):
                moved += 1
        except Exception as exc:
            if not should_set_aside(exc):
                raise
            await set_aside(rt.pool, LOOP, row["alert_id"], exc)
    return moved


async def _escalate_one(rt: Runtime, cfg: NotificationSettings, alert_id: UUID) -> bool:
    now = datetime.now(UTC)
    async with rt.pool.acquire() as conn:
        head = await conn.fetchrow("SELECT correlation_id, cause_event_id FROM alerts WHERE alert_id = $1", alert_id)
    if head is None:
        return False
    metadata = Metadata(correlation_id=head["correlation_id"], causation_id=str(head["cause_event_id"]))
    async with rt.uow(metadata) as uow:
        row = await uow.conn.fetchrow(
            "SELECT * FROM alerts WHERE alert_id = $1 AND acknowledged_at IS NULL AND acknowledge_by <= now()"
            " FOR UPDATE SKIP LOCKED",
            alert_id,
        )
        if row is None:  # acknowledged meanwhile, or another replica has it
            return False
        record = await repository.load_record(uow.conn, row["participant_id"]) or ParticipantRecord(
            row["participant_id"]
        )
        staff = await repository.load_staff(uow.conn, row["agency_id"])
        recipients = recipients_for(record, staff)
        before = await alerts.load(uow, alert_id)
        escalation = await alerts.save(
            uow,
            before,
            decide_escalate(before.state, recipients, now, cfg.ack_timeout),
            agency_id=row["agency_id"],
            participant_id=row["participant_id"],
        )
        state, events = escalation.state, escalation.stored
        if not events:
            # Top of the ladder: the alert stays open in everyone's inbox but stops being swept.
            await uow.conn.execute("UPDATE alerts SET acknowledge_by = NULL WHERE alert_id = $1", alert_id)
            return False
        await repository.upsert_alert(uow.conn, state, row["agency_id"], row["correlation_id"], now)
        escalated = events[0].event
        assert isinstance(escalated, AlertEscalated)
        await deliver(
            uow,
            escalation_intent(before.state, escalated),
            agency_id=row["agency_id"],
            cause_event_type="AlertEscalated",
            cause_occurred_at=now,
            payload={},
            now=now,
            cfg=cfg,
            existing_alert_id=escalated.alert_id,
        )
    log.info("alert escalated", alert_id=str(alert_id), to_role=escalated.to_role)
    return True


async def run_escalations(rt: Runtime, cfg: NotificationSettings) -> None:
    await PollingWorker(LOOP, lambda: escalate_due(rt, cfg), interval=cfg.escalation_poll_s).run()
