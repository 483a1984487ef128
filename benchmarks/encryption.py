"""Benchmark: the cost of sealing participants' texts on the hot paths, against the same run
without encryption.

    python -m benchmarks.encryption [--enrolments 300] [--check-ins 1200] [--rounds 3]

Starts Kafka and PostgreSQL (``.waypoint/bench-encryption``; ports ``BENCH_KAFKA_PORT`` /
``BENCH_PG_PORT``, default 19392 / 19432) unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``
are set, runs intake and monitoring in this process (their real handlers, tables, event store,
outbox and check-in writer, through their HTTP apps), and measures, in interleaved rounds:

- **enrolment** (intake ``POST /v1/participants``: a name, contact details and two support
  contacts): each enrolment creates and wraps a new data key, then seals six values;
- **check-in append** (monitoring ``POST .../check-ins`` with a private note, a warning sign and
  a coping strategy in the participant's words): three values sealed under a key the ring has
  cached after the participant's first check-in.

The baseline swaps the services' key ring for one that does not encrypt (no key lookup, no key
row, the texts stored as they come; the same code path otherwise). Reports throughput (medians of
the rounds) and the ratio sealed / plain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from deploy import infra
from shared.keyring import KeyRing, MasterKeys
from shared.testing.auth import bearer
from shared.testing.services import RunningService, running_service

STATE = Path(".waypoint/bench-encryption").resolve()
AGENCY = "agency-bench"
STAFF = bearer(sub="crs-1", agency_id=AGENCY, roles=("specialist",))


class _Identity:
    """A "cipher" that leaves the text as it is (the baseline's key)."""

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
        return data


class NoEncryption(KeyRing):
    """The baseline: the same calls, no key lookup, no key row, nothing encrypted."""

    def __init__(self) -> None:
        super().__init__(MasterKeys.parse(None, "", development=True))

    async def key_for(self, conn: Any, participant_id: UUID, agency_id: str) -> Any:
        return _Identity()

    async def keys_for(self, conn: Any, owners: Iterable[tuple[UUID, str]]) -> dict[UUID, Any]:
        return {pid: _Identity() for pid, _ in owners}

    async def seal(self, conn: Any, participant_id: UUID, agency_id: str, purpose: str, value: str | None) -> Any:
        return value

    async def seal_json(self, conn: Any, participant_id: UUID, agency_id: str, purpose: str, value: Any) -> Any:
        return None if value is None else orjson.dumps(value).decode()


def _enrolment(i: int) -> dict[str, Any]:
    return {
        "display_name": f"Person {i}", "specialist_id": "crs-1", "recovery_start_date": "2026-03-01",
        "primary_substances": ["alcohol"], "preferred_channel": "sms",
        "contact": {"given_name": f"Person{i}", "family_name": "Bench", "phone": "+15550100",
                    "email": f"p{i}@example.org"},
        "support_contacts": [
            {"name": f"Sponsor {i}", "relation": "sponsor", "channel": "phone", "phone": "+15550199",
             "consent_to_contact": True},
            {"name": f"Sibling {i}", "relation": "sibling", "channel": "email", "email": f"s{i}@example.org",
             "consent_to_contact": False},
        ],
    }


CHECK_IN = {
    "craving": 3, "mood": 3, "private_note": "argued with my brother about money again",
    "warning_signs": [{"description": "skipping meals and staying in", "tag": "isolation"}],
    "coping_strategies": [{"description": "walked to the river and called my sponsor", "helped": True}],
}


async def _timed(jobs: list[Callable[[], Awaitable[None]]], concurrency: int) -> tuple[float, float]:
    """Run ``jobs`` ``concurrency`` at a time; returns jobs per second and this process's CPU
    milliseconds per job (the services run here: their CPU, not PostgreSQL's or Kafka's, which
    other processes on a loaded machine do not inflate the way they do wall time)."""
    queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            await queue.get_nowait()()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(jobs) / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / len(jobs)


def _use(services: list[RunningService], ring: KeyRing) -> None:
    """Make the running services seal (or not) with ``ring`` from now on."""
    from services.monitoring.application.check_in_writer import CheckInWriter

    for svc in services:
        svc.runtime.keys = ring
        if svc.runtime.service == "monitoring":
            svc.runtime.part(CheckInWriter)._keys = ring


async def _enrol(intake: RunningService, count: int, concurrency: int) -> tuple[tuple[float, float], list[str]]:
    ids: list[str] = []

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            r = await intake.client.post("/v1/participants", json=_enrolment(i), headers=STAFF)
            assert r.status_code == 201, r.text
            ids.append(r.json()["participant_id"])

        return run

    rate = await _timed([job(i) for i in range(count)], concurrency)
    return rate, ids


async def _check_ins(monitoring: RunningService, ids: list[str], count: int, concurrency: int) -> tuple[float, float]:
    def job(pid: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            r = await monitoring.client.post(f"/v1/participants/{pid}/check-ins", json=CHECK_IN, headers=STAFF)
            assert r.status_code == 201, r.text

        return run

    return await _timed([job(ids[i % len(ids)]) for i in range(count)], concurrency)


async def _known_to_monitoring(monitoring: RunningService, ids: list[str]) -> None:
    from shared.tenancy import system_scope

    deadline = time.monotonic() + 120
    wanted = [UUID(i) for i in ids]
    while time.monotonic() < deadline:
        with system_scope():
            known = await monitoring.runtime.pool.fetchval(
                "SELECT count(*) FROM monitored_participants WHERE participant_id = ANY($1::uuid[]) AND active",
                wanted)
        if known == len(wanted):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("monitoring did not learn of the enrolments in time")


async def run(database_url: str, bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(running_service(
            "intake", kafka_bootstrap=bootstrap, database_url=database_url, relay_poll_interval_s=0.1))
        monitoring = await stack.enter_async_context(running_service(
            "monitoring", kafka_bootstrap=bootstrap, database_url=database_url, relay_poll_interval_s=0.1))
        sealed, plain = intake.runtime.keys, NoEncryption()
        services = [intake, monitoring]
        rings = {"sealed": sealed, "plain": plain}
        results: dict[str, dict[str, list[tuple[float, float]]]] = {"enrolment": {"sealed": [], "plain": []},
                                                                     "check_in": {"sealed": [], "plain": []}}
        # the participants the check-ins are about, one set per ring (keys exist only for the sealed one)
        people: dict[str, list[str]] = {}
        for name, ring in rings.items():
            _use(services, ring)
            _, people[name] = await _enrol(intake, args.participants, args.concurrency)
        await _known_to_monitoring(monitoring, people["sealed"] + people["plain"])
        for name, ring in rings.items():  # warm-up: the first check-in of each participant
            _use(services, ring)
            await _check_ins(monitoring, people[name], len(people[name]), args.concurrency)
        for round_no in range(args.rounds):
            order = ["sealed", "plain"] if round_no % 2 == 0 else ["plain", "sealed"]
            for name in order:
                _use(services, rings[name])
                rate, _ = await _enrol(intake, args.enrolments, args.concurrency)
                results["enrolment"][name].append(rate)
                rate = await _check_ins(monitoring, people[name], args.check_ins, args.concurrency)
                results["check_in"][name].append(rate)
                (e_rate, e_cpu), (c_rate, c_cpu) = results["enrolment"][name][-1], results["check_in"][name][-1]
                print(f"round {round_no + 1} {name}: enrolment {e_rate:.0f}/s {e_cpu:.1f} cpu-ms,"
                      f" check-in {c_rate:.0f}/s {c_cpu:.1f} cpu-ms", flush=True)
        _use(services, sealed)
    report: dict[str, Any] = {"rounds": args.rounds, "concurrency": args.concurrency}
    for workload, by_ring in results.items():
        s, p = (statistics.median(r for r, _ in by_ring[k]) for k in ("sealed", "plain"))
        sc, pc = (statistics.median(c for _, c in by_ring[k]) for k in ("sealed", "plain"))
        report[workload] = {
            "sealed_per_s": round(s, 1), "plain_per_s": round(p, 1), "throughput_ratio": round(s / p, 3),
            "sealed_cpu_ms": round(sc, 2), "plain_cpu_ms": round(pc, 2), "cpu_ratio": round(sc / pc, 3),
            "rounds": {k: [[round(r, 1), round(c, 2)] for r, c in vs] for k, vs in by_ring.items()},
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrolments", type=int, default=300, help="enrolments per round and ring")
    parser.add_argument("--check-ins", type=int, default=1200, help="check-ins per round and ring")
    parser.add_argument("--participants", type=int, default=200, help="participants the check-ins are about")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=STATE / "report.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    endpoints = infra.start(STATE, kafka_port=int(os.environ.get("BENCH_KAFKA_PORT", "19392")),
                            pg_port=int(os.environ.get("BENCH_PG_PORT", "19432")))
    try:
        report = asyncio.run(run(endpoints.database_url, endpoints.kafka_bootstrap, args))
    finally:
        infra.stop(STATE, components=endpoints.started)
    report["machine"] = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"report: {args.out}")


if __name__ == "__main__":
    main()
