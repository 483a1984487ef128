"""The tools that keep the code in shape run with the tests (so in CI): ruff, mypy (strict on the
kernel, every domain layer and the console, see pyproject.toml), the import-linter contracts (the layering), and
a check that every test says which kind it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LINTED = ["shared", "services", "deploy", "tests", "benchmarks"]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", *LINTED)
    assert result.returncode == 0, explain(result)


def test_mypy_finds_nothing() -> None:
    # Files and the strict modules come from [tool.mypy] in pyproject.toml.
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, explain(result)


def test_the_import_contracts_hold() -> None:
    # Contracts in [tool.importlinter]: pure domains, independent services, a kernel that knows no
    # service, runtime code that imports nothing of deploy/ or benchmarks/.
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, explain(result)


def test_every_test_collects_and_is_marked_unit_integration_or_e2e() -> None:
    result = run(sys.executable, "-m", "pytest", "--collect-only", "-q",
                 "-m", "not unit and not integration and not e2e", "tests")
    assert result.returncode in (0, 5), "the tests do not all collect:\n" + explain(result)  # 5: none selected
    unmarked = [line for line in result.stdout.splitlines() if "::" in line]
    assert not unmarked, "tests without a unit/integration/e2e marker:\n" + "\n".join(unmarked)
