"""Given / when / then for pure aggregates::

    given(Enrolled(...), CheckInMissed(...)).when(lambda s: decide_check_in(s, cmd, now)).then(CheckInCompleted(...))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from shared.domain import Aggregate, DomainError
from shared.events import DomainEvent

S = TypeVar("S")


class Scenario(Generic[S]):
    def __init__(self, aggregate: Aggregate[S], history: Sequence[DomainEvent]) -> None:
        self.aggregate = aggregate
        self.state = aggregate.fold(history)
        self._result: list[DomainEvent] | None = None
        self._error: DomainError | None = None

    def when(self, decide: Callable[[S], Sequence[DomainEvent]]) -> Scenario[S]:
        try:
            self._result = list(decide(self.state))
        except DomainError as exc:
            self._error = exc
        return self

    def then(self, *expected: DomainEvent) -> list[DomainEvent]:
        assert self._error is None, f"expected events, got {type(self._error).__name__}: {self._error}"
        assert self._result == list(expected), f"expected {list(expected)}, got {self._result}"
        return self._result

    def then_fails(self, error: type[DomainError], match: str | None = None) -> DomainError:
        assert self._error is not None, f"expected {error.__name__}, got events {self._result}"
        assert isinstance(self._error, error), f"expected {error.__name__}, got {self._error!r}"
        if match is not None:
            assert match in self._error.message, f"{match!r} not in {self._error.message!r}"
        return self._error


def given(aggregate: Aggregate[Any], *history: DomainEvent) -> Scenario[Any]:
    """Start a scenario from an aggregate's past events."""
    return Scenario(aggregate, history)
