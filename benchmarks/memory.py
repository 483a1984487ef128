"""Resident memory of each service process when idle (after start-up and a short settle)."""

from __future__ import annotations

import time
from pathlib import Path

from deploy.services import SERVICES, start_services, stop_services

PORTS = {"intake": 18101, "planning": 18102, "monitoring": 18103, "notifications": 18104}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run(state_dir: Path, env: dict[str, str], settle_s: float = 10.0) -> dict[str, float]:
    start_services(state_dir, env, ports=PORTS, timeout=120)
    try:
        time.sleep(settle_s)
        pids = {name: int((state_dir / "services" / f"{name}.pid").read_text()) for name in SERVICES}
        return {name: round(_rss_mb(pid), 1) for name, pid in pids.items()}
    finally:
        stop_services(state_dir)
