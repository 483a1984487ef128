"""Small process/file helpers shared by the native Kafka and PostgreSQL runners."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine factory to completion from synchronous code.

    Always uses a fresh event loop in a helper thread, so it is safe to call both from plain
    scripts and from code already running inside an event loop (pytest-asyncio fixtures),
    without touching that loop or the thread's "current loop" setting.
    """
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(fn())  # type: ignore[arg-type]
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="waypoint-infra-async", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Fail early with a clear message instead of letting a server die on EADDRINUSE."""
    if port_is_open(host, port):
        raise RuntimeError(
            f"cannot start {what}: {host}:{port} is already in use by another process "
            f"(not the one managed in this state dir). Pick another port or stop that process."
        )


def tail(path: Path, lines: int = 40) -> str:
    """Last `lines` lines of a log file (empty string if missing)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def find_process(pid: int | None, cmdline_marker: str) -> psutil.Process | None:
    """The live process `pid` if its command line contains `cmdline_marker`.

    The marker check guards against PID reuse: a stale pid file must never make us signal
    an unrelated process.
    """
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if any(cmdline_marker in part for part in proc.cmdline()):
            return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def _gone(proc: psutil.Process) -> bool:
    # A zombie is dead (holds no ports or files); it only waits for its parent (often pid 1,
    # since pg_ctl daemonizes the postmaster) to reap it, which can take a second or two.
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def terminate(proc: psutil.Process, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Send `sig`, wait up to `timeout` seconds, then SIGKILL. Reaps the process if it is our child."""
    if not _gone(proc):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
        if not wait_until(lambda: _gone(proc), timeout, 0.05):
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
            wait_until(lambda: _gone(proc), 10, 0.05)
    # If we spawned it (Kafka started by this very process), reap it so no zombie lingers.
    with contextlib.suppress(psutil.Error, ChildProcessError):
        proc.wait(0)


def read_pid(path: Path) -> int | None:
    """Integer on the first line of a pid file, or None."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock (flock) on `path`; serialises concurrent up/down calls.

    Not re-entrant within one process: take it only at the outermost API level.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def spawn_detached(cmd: list[str], *, what: str, log_file: Path, pid_file: Path, cwd: Path,
                   env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a long-lived server process whose output goes to `log_file`, and record its pid.

    A new session: the server must outlive the command that started it (`make up`) and must not
    receive the terminal's Ctrl-C meant for a test run.
    """
    with log_file.open("ab") as out:
        out.write(f"\n===== starting {what} at {time.ctime()} =====\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, start_new_session=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop_child(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Stop a process we spawned by its handle: SIGTERM, `grace` seconds, then SIGKILL; reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_for_server(is_ready: Callable[[], bool], *, alive: Callable[[], bool], timeout: float,
                    interval: float, exited: Callable[[], str], late: Callable[[], str]) -> None:
    """Poll `is_ready` until it is true; raise with `exited()` if the process dies meanwhile, or
    with `late()` when `timeout` seconds pass (both build the message, e.g. with the log tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(exited())
        if is_ready():
            return
        time.sleep(interval)
    raise RuntimeError(late())
