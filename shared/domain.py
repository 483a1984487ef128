"""Building blocks for pure domain code: errors and the decide/evolve aggregate shape.

An aggregate here is three plain things, no base class needed:

* ``initial`` - the state of a stream with no events;
* ``evolve(state, event) -> state`` - folds one past event into the state (never fails);
* ``decide_*(state, command, ...) -> list[DomainEvent]`` - checks the rules and returns the new
  facts, or raises a :class:`DomainError`.

The application layer loads a stream, folds it with ``evolve``, calls a ``decide_*`` function
and appends what it returns; the domain itself does no I/O and reads no clock (time is passed in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.events import DomainEvent

S = TypeVar("S")


class DomainError(Exception):
    """A command broke a business rule. Maps to an HTTP 409/422 problem, never a 500.

    ``field`` names the offending input where there is one, so API errors can point at it.
    """

    status = 409
    code = "rule-violated"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """The command's content is invalid in itself (422)."""

    status = 422
    code = "invalid-command"


class NotFound(DomainError):
    """No such thing (or, fail-closed, nothing the caller may see): 404."""

    status = 404
    code = "not-found"


class Conflict(DomainError):
    """The command conflicts with the current state (409)."""

    status = 409
    code = "conflict"


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """Bundles an aggregate's stream type, initial state and evolve function."""

    stream_type: str
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]

    def fold(self, events: Iterable[DomainEvent], state: S | None = None) -> S:
        """State after applying ``events`` in order to ``state`` (or the initial state)."""
        current = self.initial() if state is None else state
        for e in events:
            current = self.evolve(current, e)
        return current
