"""Test-only fault injection: named points where a process can be made to fail on purpose.

The kernel and the services call :func:`point` at their risky moments (after a commit and before
the produce, after a send and before it is recorded...). Nothing happens unless a test asked for it:

- ``WAYPOINT_FAULT=<name>`` in a process's environment makes it kill itself with SIGKILL the first
  time it reaches that point (``<name>@<n>``: the n-th time). Fault tests start a service with it
  and check that nothing is lost or duplicated after the restart.
- :func:`arm` (in-process tests) makes the point raise an exception a number of times.

Production never sets ``WAYPOINT_FAULT``; an unset variable costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

ENV = "WAYPOINT_FAULT"

#: The points the code base calls, documented in docs/architecture.md ("Faults").
POINTS = (
    "outbox.after_send_before_delete",  # the relay: Kafka acknowledged, rows not yet deleted
    "inbox.after_commit_before_offsets",  # a consumer: effects committed, offsets not yet committed
    "inbox.before_dlq_send",  # a consumer: poison record found, not yet sent to the DLQ
    "inbox.after_dlq_send",  # a consumer: DLQ acknowledged, the inbox row not yet written
    "uow.after_commit",  # a command: its transaction committed, the relay not yet woken
    "notifications.after_send_before_record",  # an email/webhook went out, its outcome not recorded
    "monitoring.check_ins.after_commit",  # a batch of check-ins committed, no caller answered yet
)


@dataclass
class _Armed:
    error: BaseException
    times: int


_armed: dict[str, _Armed] = {}
_hits: dict[str, int] = {}


def arm(name: str, error: BaseException, *, times: int = 1) -> None:
    """Make :func:`point` ``name`` raise ``error`` the next ``times`` times (in-process tests)."""
    _armed[name] = _Armed(error, times)


def disarm(name: str | None = None) -> None:
    """Forget one armed point, or all of them."""
    if name is None:
        _armed.clear()
    else:
        _armed.pop(name, None)


def point(name: str) -> None:
    """A fault-injection point: does nothing unless a test armed it (see the module docstring)."""
    armed = _armed.get(name)
    if armed is not None:
        armed.times -= 1
        if armed.times <= 0:
            del _armed[name]
        raise armed.error
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
