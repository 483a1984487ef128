"""Schemathesis against every service's /openapi.json with a real token: no input makes a 500.

Bounded to stay quick (a few examples per operation, deterministic): it looks for the class of bugs
the first fuzzing found (numbers past a column's range, over-long identifiers, odd headers)."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from shared.testing.auth import bearer
from shared.testing.http_server import http_test_port, serving
from shared.testing.services import running_service

pytestmark = pytest.mark.integration

SERVICES = ["intake", "planning", "monitoring", "notifications"]
#: examples per operation and phase; raise locally with WAYPOINT_FUZZ_EXAMPLES for a longer hunt
EXAMPLES = os.environ.get("WAYPOINT_FUZZ_EXAMPLES", "6")


@pytest.mark.parametrize("service", SERVICES)
async def test_no_generated_request_makes_a_server_error(service, kafka_bootstrap, database_url):
    token = bearer(sub="fuzzer", agency_id="agency-fuzz", roles=("specialist", "supervisor", "agency_admin"))
    st = Path(sys.executable).parent / "st"
    async with running_service(service, kafka_bootstrap=kafka_bootstrap, database_url=database_url) as svc, \
            serving(svc.app, http_test_port(10 + SERVICES.index(service)), lifespan="off") as url:
        proc = await asyncio.create_subprocess_exec(
            str(st), "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing", "--max-examples", EXAMPLES, "--generation-deterministic",
            "--workers", "1", "--request-timeout", "30", "--no-color",
            "-H", f"Authorization: {token['Authorization']}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    assert "API Operations" in report or "operations" in report.lower(), report[-2000:]
    print(report[-1500:])
