"""Start and stop the Waypoint processes (for `make up`, the demo, e2e and browser tests).

Each service runs as its own process (`python -m services.<name>`), with pid and log files in the
state directory, and is considered started once its `/health/ready` answers 200. The console (the
fifth process, a client of the four) starts after them when ``ports`` names it (the default does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

SERVICES = ("intake", "planning", "monitoring", "notifications")
CONSOLE = "console"
DEFAULT_PORTS = {"intake": 8001, "planning": 8002, "monitoring": 8003, "notifications": 8004, CONSOLE: 8000}
REPO_ROOT = Path(__file__).resolve().parent.parent


def start_services(
    state_dir: Path, env: Mapping[str, str], *, ports: Mapping[str, int] | None = None,
    timeout: float = 60.0, service_env: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """Start every service not already running; returns each service's base URL once all are ready.
    ``service_env`` adds variables for one service only (e.g. its Kafka credentials)."""
    ports = dict(ports or DEFAULT_PORTS)
    run_dir = state_dir / "services"
    run_dir.mkdir(parents=True, exist_ok=True)
    urls = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
    extra = service_env or {}
    _launch(run_dir, SERVICES,
            {name: {**env, **extra.get(name, {}), "HTTP_PORT": str(ports[name])} for name in SERVICES})
    _wait(run_dir, urls, timeout)
    if CONSOLE in ports:
        console_env = {**env, **extra.get(CONSOLE, {}), "CONSOLE_PORT": str(ports[CONSOLE]),
                       **{f"{n.upper()}_URL": u for n, u in urls.items()}}
        urls[CONSOLE] = f"http://127.0.0.1:{ports[CONSOLE]}"
        _launch(run_dir, (CONSOLE,), {CONSOLE: console_env})
        _wait(run_dir, {CONSOLE: urls[CONSOLE]}, timeout)
    return urls


def _launch(run_dir: Path, names: tuple[str, ...], envs: Mapping[str, Mapping[str, str]]) -> None:
    for name in names:
        if _alive(run_dir / f"{name}.pid"):
            continue
        child_env = {**os.environ, **envs[name]}
        log = (run_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=REPO_ROOT, env=child_env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        (run_dir / f"{name}.pid").write_text(str(proc.pid))


def _wait(run_dir: Path, urls: Mapping[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for name, url in urls.items():
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if not _alive(run_dir / f"{name}.pid"):
                raise RuntimeError(f"{name} exited; see {run_dir / f'{name}.log'}:\n{_tail(run_dir / f'{name}.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {timeout}s:\n{_tail(run_dir / f'{name}.log')}")
            time.sleep(0.3)


def stop_services(state_dir: Path, timeout: float = 15.0) -> None:
    """SIGTERM each service (graceful: relays and consumers stop), SIGKILL stragglers."""
    run_dir = state_dir / "services"
    for name in (CONSOLE, *SERVICES):
        pid_file = run_dir / f"{name}.pid"
        pid = _pid(pid_file)
        if pid is None:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid_file.unlink(missing_ok=True)
            continue
        deadline = time.monotonic() + timeout
        while _alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid_file):
            os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)


def _pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid_file: Path) -> bool:
    pid = _pid(pid_file)
    if pid is None:
        return False
    try:
        # A zombie child still "exists": check its state too.
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
