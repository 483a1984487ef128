"""``python -m benchmarks.console``: the console's caseload page for a specialist with 2,000 participants
and a participant page whose timeline holds 5,000 events, each beside the API calls it makes, in the
same run. Starts its own stack (ports from ``--base``); the console's own time is its
``Server-Timing`` header, the APIs' is measured by this client on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.console.stack import own_stack
from shared.auth import issue_token
from shared.testing.auth import DEV_SECRET

AGENCY, SPECIALIST = "agency-bench", "crs-bench"
WARM_UP = 5
AUTH = {"Authorization": "Bearer " + issue_token(DEV_SECRET, sub=SPECIALIST, agency_id=AGENCY, roles=["specialist"],
                                                 ttl_s=6 * 3600)}


def pct(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "n": len(ordered)}


async def _many(count: int, make, concurrency: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with gate:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)))


async def seed(urls: dict[str, str], people: int, events: int) -> str:
    async with httpx.AsyncClient(timeout=60, headers=AUTH) as http:
        async def enrol(i: int) -> str:
            r = await http.post(f"{urls['intake']}/v1/participants",
                                json={"display_name": f"Person {i:04d}", "specialist_id": SPECIALIST})
            r.raise_for_status()
            return r.json()["participant_id"]

        pids = await _many(people, enrol)
        target = pids[0]
        while (await http.get(f"{urls['monitoring']}/v1/participants/{target}/check-in-schedule")).status_code != 200:
            await asyncio.sleep(0.5)

        async def check_in(i: int) -> None:
            r = await http.post(f"{urls['monitoring']}/v1/participants/{target}/check-ins",
                                json={"craving": i % 11, "mood": 1 + i % 5})
            r.raise_for_status()

        await _many(events, check_in)
        while True:  # every participant ranked, and the timeline complete
            ranked = (await http.get(f"{urls['monitoring']}/v1/caseload", params={"limit": 1000})).json()
            checks = (await http.get(f"{urls['monitoring']}/v1/participants/{target}/check-ins",
                                     params={"limit": 1})).json()["check_ins"]
            total = await _timeline_size(http, urls["monitoring"], target)
            print(f"ranked {len(ranked['participants'])}, timeline {total}", flush=True)
            if len(ranked["participants"]) >= min(people, 1000) and checks and total >= events:
                return target
            await asyncio.sleep(2)


async def _timeline_size(http: httpx.AsyncClient, monitoring: str, pid: str) -> int:
    total, after = 0, None
    while True:
        page = (await http.get(f"{monitoring}/v1/participants/{pid}/timeline",
                               params={"limit": 500, **({"after": after} if after else {})})).json()
        total += len(page["entries"])
        after = page["next_after"]
        if after is None:
            return total


async def measure(urls: dict[str, str], pid: str, rounds: int) -> dict[str, Any]:
    console = urls["console"]
    async with httpx.AsyncClient(timeout=60) as browser, httpx.AsyncClient(timeout=60, headers=AUTH) as api:
        form = (await browser.get(f"{console}/sign-in")).text
        csrf = form.split('name="csrf" value="')[1].split('"')[0]
        await browser.post(f"{console}/sign-in", data={"user": SPECIALIST, "agency": AGENCY, "role": "specialist",
                                                       "csrf": csrf})
        ranked = (await api.get(f"{urls['monitoring']}/v1/caseload", params={"limit": 1000})).json()["participants"]
        first_200 = [r["participant_id"] for r in ranked[:200]]
        pages = {"caseload page (200 most in need)": f"{console}/caseload",
                 "caseload page (1,000 most in need)": f"{console}/caseload?show=all",
                 "participant page": f"{console}/participants/{pid}",
                 "timeline page (first 50)": f"{console}/participants/{pid}/timeline"}
        calls: dict[str, tuple[str, dict[str, Any]]] = {
                 "caseload API (monitoring, 200 ranked)": (f"{urls['monitoring']}/v1/caseload", {"limit": 200}),
                 "caseload API (monitoring, 1000 ranked)": (f"{urls['monitoring']}/v1/caseload", {"limit": 1000}),
                 "participants API (intake, 500 of the 2,000)": (
                     f"{urls['intake']}/v1/participants", {"specialist_id": SPECIALIST, "status": "active",
                                                           "limit": 500}),
                 "names lookup API (intake, 200 ids)": (
                     f"{urls['intake']}/v1/participants", {"participant_id": first_200, "limit": 200}),
                 "latest timeline API (monitoring)": (f"{urls['monitoring']}/v1/participants/{pid}/timeline/latest",
                                                      {"limit": 15}),
                 "check-ins API (monitoring, 300 of the last 30 days)": (
                     f"{urls['monitoring']}/v1/participants/{pid}/check-ins",
                     {"limit": 300, "since": (datetime.now(UTC) - timedelta(days=30)).isoformat()}),
                 "risk history API (monitoring, 10)": (f"{urls['monitoring']}/v1/participants/{pid}/risk-history",
                                                       {"limit": 10}),
                 "recovery API (monitoring)": (f"{urls['monitoring']}/v1/participants/{pid}/recovery", {}),
                 "check-in schedule API (monitoring)": (
                     f"{urls['monitoring']}/v1/participants/{pid}/check-in-schedule", {}),
                 "participant API (intake)": (f"{urls['intake']}/v1/participants/{pid}", {}),
                 "assessments API (intake)": (f"{urls['intake']}/v1/participants/{pid}/assessments", {}),
                 "inbox API (notifications, 200 waiting)": (f"{urls['notifications']}/v1/notifications",
                                                            {"unacknowledged": "true", "limit": 200})}
        server: dict[str, list[float]] = {name: [] for name in pages}
        client: dict[str, list[float]] = {name: [] for name in [*pages, *calls]}
        size: dict[str, int] = {}
        for round_ in range(rounds + WARM_UP):  # interleaved: the machine's noise falls on every target alike
            for name, url in pages.items():
                t0 = time.perf_counter()
                r = await browser.get(url)
                elapsed = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (url, r.status_code)
                if round_ >= WARM_UP:
                    client[name].append(elapsed)
                    server[name].append(float(r.headers["Server-Timing"].split("dur=")[1]))
                    size[name] = len(r.content)
            for name, (url, params) in calls.items():
                t0 = time.perf_counter()
                (await api.get(url, params=params)).raise_for_status()
                if round_ >= WARM_UP:
                    client[name].append((time.perf_counter() - t0) * 1000)
        out: dict[str, Any] = {name: {"server": pct(server[name]), "client": pct(client[name]), "bytes": size[name]}
                               for name in pages}
        out.update({name: pct(client[name]) for name in calls})
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=18950)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with own_stack(args.base, "bench-console") as urls:
        pid = asyncio.run(seed(urls, args.people, args.events))
        report = asyncio.run(measure(urls, pid, args.rounds))
    print(json.dumps({"load_average": os.getloadavg(), **report}, indent=2))


if __name__ == "__main__":
    main()
