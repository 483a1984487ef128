"""The kernel's stream repository and in-memory unit of work: load (from a snapshot), decide,
append with the outbox, project inline, roll back on failure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from shared.catalogue.intake import ParticipantEnrolled
from shared.clock import ManualClock
from shared.domain import Aggregate, Conflict
from shared.eventstore import ConcurrencyError
from shared.memory import InMemoryUnitsOfWork
from shared.streams import Changed, Decision, Loaded, StreamRepository
from shared.uow import UnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A tiny aggregate: how many specialists a participant had, the last one's id.
History = tuple[int, str | None]
HISTORY = Aggregate[History](
    "history", lambda: (0, None), lambda s, e: (s[0] + 1, getattr(e, "specialist_id", None))
)


def enrolled(pid: UUID, specialist: str) -> ParticipantEnrolled:
    return ParticipantEnrolled(participant_id=pid, specialist_id=specialist, enrolled_at=NOW)


class CountingSnapshots:
    """Keeps the state after every save; ``latest`` hands it back."""

    def __init__(self) -> None:
        self.saved: dict[str, tuple[History, int]] = {}

    async def latest(self, uow: UnitOfWork, stream_ids: Sequence[str]) -> dict[str, tuple[History, int]]:
        return {sid: self.saved[sid] for sid in stream_ids if sid in self.saved}

    async def save(self, uow: UnitOfWork, changes: Sequence[tuple[Loaded[History], Changed[History]]]) -> None:
        for _, after in changes:
            self.saved[after.stream_id] = (after.state, after.version)


def repository(**options: object) -> StreamRepository[UUID, History]:
    return StreamRepository(HISTORY, lambda pid: f"history-{pid}", **options)  # type: ignore[arg-type]


async def test_execute_appends_the_decision_and_hands_it_to_the_outbox() -> None:
    units, pid = InMemoryUnitsOfWork("intake", clock=ManualClock(NOW)), uuid4()
    async with units.open(agency_id="agency-a", actor="crs-1") as uow:
        changed = await repository().execute(uow, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid)
    assert changed.state == (1, "s-1") and changed.version == 1
    assert units.published() == [enrolled(pid, "s-1")]
    [stored] = await units.store.read_stream(f"history-{pid}")
    assert (stored.agency_id, stored.metadata.actor, stored.occurred_at) == ("agency-a", "crs-1", NOW)


async def test_a_decision_sees_the_state_folded_from_earlier_commands() -> None:
    units, pid, seen = InMemoryUnitsOfWork("intake"), uuid4(), []
    for specialist in ("s-1", "s-2"):
        async with units.open(agency_id="agency-a") as uow:
            await repository().execute(
                uow, pid, lambda s, sp=specialist: seen.append(s) or [enrolled(pid, sp)], participant_id=pid
            )
    async with units.open(agency_id="agency-a") as uow:
        loaded = await repository().load(uow, pid)
    assert seen == [(0, None), (1, "s-1")]
    assert (loaded.state, loaded.version, loaded.agency_id) == ((2, "s-2"), 2, "agency-a")


async def test_no_events_writes_nothing_and_runs_no_projection() -> None:
    units, pid, projected = InMemoryUnitsOfWork("intake"), uuid4(), []

    async def project(uow: UnitOfWork, changes: Sequence[Changed[History]]) -> None:
        projected.extend(changes)

    async with units.open(agency_id="agency-a") as uow:
        changed = await repository(project=project).execute(uow, pid, lambda s: [], participant_id=pid)
    assert (changed.version, changed.stored, projected, units.published()) == (0, [], [], [])


async def test_the_projection_hook_runs_in_the_unit_of_work_with_what_was_appended() -> None:
    units, pid, projected = InMemoryUnitsOfWork("intake"), uuid4(), []

    async def project(uow: UnitOfWork, changes: Sequence[Changed[History]]) -> None:
        projected.extend((uow.agency_id, c.state, c.events) for c in changes)

    async with units.open(agency_id="agency-a") as uow:
        await repository(project=project).execute(uow, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid)
    assert projected == [("agency-a", (1, "s-1"), [enrolled(pid, "s-1")])]


async def test_a_stream_loads_from_its_snapshot_and_the_events_after_it() -> None:
    units, pid, snapshots = InMemoryUnitsOfWork("intake"), uuid4(), CountingSnapshots()
    repo = repository(snapshots=snapshots)
    async with units.open(agency_id="agency-a") as uow:
        await repo.execute(uow, pid, lambda s: [enrolled(pid, "s-1"), enrolled(pid, "s-2")], participant_id=pid)
    # The cached state says 10 earlier specialists: loading must start from it, not from event 1.
    snapshots.saved[f"history-{pid}"] = ((10, "s-2"), 2)
    async with units.open(agency_id="agency-a") as uow:
        await repo.execute(uow, pid, lambda s: [enrolled(pid, "s-3")], participant_id=pid)
        loaded = await repo.load(uow, pid)
    assert (loaded.state, loaded.version, loaded.snapshot_version) == ((11, "s-3"), 3, 3)


async def test_a_stale_version_is_a_concurrency_error_and_writes_nothing() -> None:
    units, pid = InMemoryUnitsOfWork("intake"), uuid4()
    repo = repository()
    async with units.open(agency_id="agency-a") as first:
        stale = await repo.load(first, pid)
    async with units.open(agency_id="agency-a") as second:
        await repo.execute(second, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid)
    with pytest.raises(ConcurrencyError):
        async with units.open(agency_id="agency-a") as third:
            await repo.save(third, stale, [enrolled(pid, "s-2")], participant_id=pid)
    assert units.published() == [enrolled(pid, "s-1")]


async def test_a_unit_of_work_that_raises_takes_back_its_events_and_outbox_records() -> None:
    units, pid = InMemoryUnitsOfWork("intake"), uuid4()
    with pytest.raises(Conflict):
        async with units.open(agency_id="agency-a") as uow:
            await repository().execute(uow, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid)
            raise Conflict("a later rule refused")
    assert await units.stream(f"history-{pid}") == []
    assert units.published() == []


async def test_load_many_reads_each_stream_in_the_order_asked() -> None:
    units, pids = InMemoryUnitsOfWork("intake"), [uuid4(), uuid4()]
    async with units.open(agency_id="agency-a") as uow:
        await repository().execute(uow, pids[1], lambda s: [enrolled(pids[1], "s-9")], participant_id=pids[1])
        loaded = await repository().load_many(uow, pids)
    assert [(x.state, x.version) for x in loaded] == [((0, None), 0), ((1, "s-9"), 1)]


async def test_a_stream_can_be_written_for_another_agency_than_the_callers() -> None:
    units, pid = InMemoryUnitsOfWork("intake"), uuid4()
    async with units.open() as uow:  # a consumer: no caller agency, the event names it
        await repository().execute(uow, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid,
                                   agency_id="agency-b")
    [stored] = await units.store.read_stream(f"history-{pid}")
    assert stored.agency_id == "agency-b"


async def test_a_stream_of_another_agency_answers_like_a_missing_one() -> None:
    from shared.domain import NotFound

    units, pid = InMemoryUnitsOfWork("intake"), uuid4()
    repo = repository(not_found=lambda: NotFound("no such participant"))
    async with units.open(agency_id="agency-a") as uow:
        await repo.execute(uow, pid, lambda s: [enrolled(pid, "s-1")], participant_id=pid)
    with pytest.raises(NotFound):
        async with units.open(agency_id="agency-b") as uow:
            await repo.execute(uow, pid, lambda s: [enrolled(pid, "s-2")], participant_id=pid)
    assert len(await units.stream(f"history-{pid}")) == 1


async def test_save_many_appends_several_streams_at_once_and_projects_them_together() -> None:
    units, pids, projected = InMemoryUnitsOfWork("intake"), [uuid4(), uuid4()], []

    async def project(uow: UnitOfWork, changes: Sequence[Changed[History]]) -> None:
        projected.append([c.state for c in changes])

    repo = repository(project=project)
    async with units.open(agency_id="agency-a") as uow:
        loaded = await repo.load_many(uow, pids)
        changed = await repo.save_many(uow, [
            Decision(loaded[0], [enrolled(pids[0], "s-1"), enrolled(pids[0], "s-2")], pids[0]),
            Decision(loaded[1], [], pids[1]),
        ])
    assert [(c.state, c.version) for c in changed] == [((2, "s-2"), 2), ((0, None), 0)]
    assert projected == [[(2, "s-2")]]
    assert units.published() == [enrolled(pids[0], "s-1"), enrolled(pids[0], "s-2")]


async def test_save_many_writes_nothing_when_one_stream_moved() -> None:
    units, pids = InMemoryUnitsOfWork("intake"), [uuid4(), uuid4()]
    repo = repository()
    async with units.open(agency_id="agency-a") as uow:
        loaded = await repo.load_many(uow, pids)
        await repo.execute(uow, pids[1], lambda s: [enrolled(pids[1], "s-0")], participant_id=pids[1])
    with pytest.raises(ConcurrencyError):
        async with units.open(agency_id="agency-a") as uow:
            await repo.save_many(uow, [Decision(loaded[0], [enrolled(pids[0], "s-1")], pids[0]),
                                       Decision(loaded[1], [enrolled(pids[1], "s-1")], pids[1])])
    assert await units.stream(f"history-{pids[0]}") == []
