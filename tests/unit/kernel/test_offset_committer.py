"""The consumer's background offset commits: never ahead of what was handled, never out of order,
never holding up the next batch, and a failure ends the consumer's session."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from shared.inbox import OffsetCommitter

pytestmark = pytest.mark.unit

A, B = TopicPartition("waypoint.intake.events", 0), TopicPartition("waypoint.intake.events", 1)


class SlowConsumer:
    """Stands in for AIOKafkaConsumer: each commit waits until the test lets it through."""

    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned
        self.commits: list[dict[TopicPartition, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.release = asyncio.Event()
        self.fail_with: BaseException | None = None

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.release.wait()
            if self.fail_with is not None:
                raise self.fail_with
            self.commits.append(dict(offsets))
        finally:
            self.in_flight -= 1


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_add_returns_at_once_and_offsets_added_meanwhile_go_in_one_later_commit() -> None:
    consumer = SlowConsumer({A, B})
    committer = OffsetCommitter(consumer, "waypoint.test.c")  # type: ignore[arg-type]
    committer.start()
    committer.add({A: 10})
    await _settle()
    assert consumer.in_flight == 1  # the first commit is on its way; the loop was not held up
    committer.add({A: 12, B: 3})
    committer.add({A: 15})
    await _settle()
    consumer.release.set()
    await _settle()
    await committer.close()
    assert consumer.commits == [{A: 10}, {A: 15, B: 3}]  # newest per partition, in order
    assert consumer.most_in_flight == 1


async def test_a_partition_no_longer_assigned_is_left_to_its_new_owner() -> None:
    consumer = SlowConsumer({A})
    consumer.release.set()
    committer = OffsetCommitter(consumer, "waypoint.test.c")  # type: ignore[arg-type]
    committer.start()
    committer.add({A: 4, B: 9})
    await _settle()
    await committer.close()
    assert consumer.commits == [{A: 4}]


async def test_a_failed_commit_is_raised_in_the_loop_at_its_next_batch() -> None:
    consumer = SlowConsumer({A})
    consumer.fail_with = CommitFailedError("the group rebalanced")
    consumer.release.set()
    committer = OffsetCommitter(consumer, "waypoint.test.c")  # type: ignore[arg-type]
    committer.start()
    committer.add({A: 1})
    await _settle()
    with pytest.raises(CommitFailedError):
        committer.check()
    with pytest.raises(CommitFailedError):
        committer.add({A: 2})
    await committer.close()


async def test_stopping_commits_what_is_pending() -> None:
    consumer = SlowConsumer({A})
    committer = OffsetCommitter(consumer, "waypoint.test.c")  # type: ignore[arg-type]
    committer.start()
    committer.add({A: 1})
    await _settle()
    committer.add({A: 7})  # waits behind the commit in flight
    consumer.release.set()
    await committer.close()
    assert consumer.commits[-1] == {A: 7}
