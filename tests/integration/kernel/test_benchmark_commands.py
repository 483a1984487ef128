"""Issue 13's benchmark commands still run, at a tiny size, on the test infrastructure.

Nothing else runs them, and twice a change elsewhere broke one silently: the relay benchmark
waited forever once the broker stopped creating topics on first use, and the missed-check-in
sweep failed at its first step once pooled connections began wrapping every statement in a
transaction (row-level security). These runs check that each command completes and that its
report adds up (everything sent arrived, every due window was published once); their timings
mean nothing at this size and are not looked at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _run(module: str, args: list[str], infra, tmp_path: Path, timeout: float) -> dict:
    out = tmp_path / "report.json"
    env = {**os.environ, "DATABASE_URL": infra.database_url, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap}
    done = subprocess.run([sys.executable, "-m", module, *args, "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_the_kafka_path_benchmark_runs_and_every_event_arrives(infra, tmp_path):
    report = _run("benchmarks.kafka_path", ["--rate", "100", "--duration", "2"], infra, tmp_path, 180)
    path = report["kernel_path"]
    assert path["received"] == path["sent"] == 200
    assert report["raw_aiokafka_before"]["latency_ms"]["n"] > 0
    assert report["p99_ratio_kernel_vs_raw"] > 0


def test_the_missed_check_in_sweep_benchmark_runs_and_publishes_each_window_once(infra, tmp_path):
    report = _run("benchmarks.missed_sweep", ["--schedules", "3000", "--due", "300", "--window-s", "2",
                                              "--timeout-s", "90"], infra, tmp_path, 240)
    assert report["published"] == 300, report  # a window published twice fails the command itself
