"""Helpers for the integration tests of issue 15: publish events as a relay would, run a service
under a real uvicorn server (so that clients talk HTTP over TCP), ports from WAYPOINT_TEST_HTTP_BASE."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from shared.catalogue_contract import example, payload_schema
from shared.cloudevents import encode, topic_for
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent, event_class

HTTP_BASE = int(os.environ.get("WAYPOINT_TEST_HTTP_BASE", "18000"))
RUN = uuid.uuid4().hex[:6]
#: the two agencies whose integrators the SASL fixtures provision
AGENCY_A, AGENCY_B = f"agency-a-{RUN}", f"agency-b-{RUN}"


def sasl(user: str, password: str) -> dict[str, str]:
    """aiokafka options of an independent client logging in as ``user`` (SCRAM-SHA-512)."""
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user, "sasl_plain_password": password}


def port(offset: int) -> int:
    """A port of this suite's range (HTTP base + offset)."""
    return HTTP_BASE + offset


def sample(name: str, **fields: Any) -> DomainEvent:
    """A valid event of type ``name`` (the catalogue's example, with ``fields`` replaced)."""
    cls = event_class(name)
    return cls.model_validate({**example(payload_schema(cls)), **fields})


class Publisher:
    """Publishes events on the service topics exactly as the outbox relays do."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, event: DomainEvent, *, agency_id: str, participant_id: UUID,
                      event_id: UUID | None = None) -> UUID:
        service = type(event).service
        new = NewEvent(stream_id=f"{service}-{participant_id}", stream_type=service, agency_id=agency_id,
                       participant_id=participant_id, event=event,
                       metadata=Metadata(correlation_id=str(uuid.uuid4())), event_id=event_id or uuid.uuid4())
        key, value, headers = encode(new, service)
        await self._producer.send_and_wait(topic_for(service), value, key=key.encode() if key else None,
                                           headers=headers)
        return new.event_id


@contextlib.asynccontextmanager
async def served(app: FastAPI, port: int) -> AsyncIterator[str]:
    """``app`` (lifespan included) behind a real uvicorn server on 127.0.0.1:``port``."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@contextlib.asynccontextmanager
async def example_process(script: str, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``examples/<script>`` as its own process (the integrator's program); stopped afterwards."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / script), env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def json_lines_until(proc: asyncio.subprocess.Process, done: Any, timeout: float = 60) -> list[dict]:
    """JSON lines of ``proc``'s stdout until ``done(lines)`` holds (fails with stderr after ``timeout``)."""
    import json

    lines: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while not done(lines):
                raw = await proc.stdout.readline()
                if not raw:
                    raise AssertionError("the example exited: " + (await proc.stderr.read()).decode()[-2000:])
                lines.append(json.loads(raw))
    except TimeoutError:
        raise AssertionError(f"the example printed {len(lines)} lines, not what was expected") from None
    return lines
