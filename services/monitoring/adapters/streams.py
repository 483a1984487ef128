"""The participant-monitor streams: the kernel's stream repository, loaded from snapshots, with
the participant's due row and the read models kept in step in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from services.monitoring.adapters.tables import Tables
from services.monitoring.domain.monitor_state import MonitorState, participant_monitor
from shared.streams import Changed, Loaded, StreamRepository
from shared.uow import UnitOfWork

PREFIX = "monitor-"


def stream_id(participant_id: UUID) -> str:
    return f"{PREFIX}{participant_id}"


class MonitorSnapshots:
    """Snapshots in ``monitor_snapshots`` (see :mod:`services.monitoring.adapters.snapshots`)."""

    async def latest(self, uow: UnitOfWork, stream_ids: Sequence[str]) -> Mapping[str, tuple[MonitorState, int]]:
        tables: Tables = uow.tables
        found = await tables.latest_snapshots([UUID(s.removeprefix(PREFIX)) for s in stream_ids])
        return {stream_id(pid): snapshot for pid, snapshot in found.items()}

    async def save(self, uow: UnitOfWork, changes: Sequence[tuple[Loaded[MonitorState], Changed[MonitorState]]]
                   ) -> None:
        tables: Tables = uow.tables
        await tables.save_snapshots([
            (UUID(after.stream_id.removeprefix(PREFIX)), before.snapshot_version, after.version, after.state)
            for before, after in changes
        ])


#: the key of the read-model projection left for the end of a consumer batch's transaction
READ_MODELS = "monitoring.read-models"


async def keep_in_step(uow: UnitOfWork, changes: Sequence[Changed[MonitorState]]) -> None:
    """The due rows, then the read models (last: they are the rows concurrent writers share).

    In a consumer's batch (``uow.before_commit``) the read models are projected once, at the end
    of the batch's transaction, for all its records: projected record by record, they were locked
    in the records' order, against the read-model consumer's sorted order, and the two deadlocked.
    """
    tables: Tables = uow.tables
    await tables.sync_due([(c.participant_id, c.agency_id, c.state) for c in changes if c.participant_id], uow.now)
    written = [e for c in changes for e in c.stored]
    if uow.before_commit is not None:
        uow.before_commit.add(READ_MODELS, tables.project, written)
    else:
        await tables.project(written)


monitors: StreamRepository[UUID, MonitorState] = StreamRepository(
    participant_monitor, stream_id, project=keep_in_step, snapshots=MonitorSnapshots()
)
