"""The HTTP event feed (`GET /v1/events`) on real Kafka and PostgreSQL, read by an independent
httpx client over TCP: SSE with a forced disconnect and resume, JSON pages, agency scoping, type
filter, roles."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.notifications.entrypoints.app import create_app
from shared.db import ensure_database
from shared.settings import ServiceSettings, database_for
from shared.testing.auth import bearer

from .feed_support import Publisher, port, sample, served

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def _notifications(kafka_bootstrap: str, database_url: str):
    name = f"t_feed_{uuid.uuid4().hex[:10]}"
    await ensure_database(database_url, name)
    settings = ServiceSettings(service="notifications", database_url=database_url,
                               service_database_url=database_for(database_url, name),
                               kafka_bootstrap_servers=kafka_bootstrap, log_json=False)
    return create_app(settings=settings)


def integrator(agency: str) -> dict[str, str]:
    return bearer("integrator-1", agency, ["integration"])


async def read_sse(response: httpx.Response, until: int, into: list[tuple[int, dict]]) -> None:
    """Read SSE events into ``into`` until it holds ``until`` of them."""
    event_id, data = None, []
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            into.append((event_id, json.loads("\n".join(data))))
            event_id, data = None, []
            if len(into) >= until:
                return


async def test_a_client_that_disconnects_and_resumes_misses_nothing_and_sees_nothing_twice(
        kafka_bootstrap, database_url):
    agency, other = f"agency-{uuid.uuid4().hex[:8]}", f"agency-{uuid.uuid4().hex[:8]}"
    people = [uuid.uuid4() for _ in range(4)]
    app = await _notifications(kafka_bootstrap, database_url)
    async with served(app, port(10)) as base, Publisher(kafka_bootstrap) as upstream, \
            httpx.AsyncClient(base_url=base, timeout=30) as client:
        sent = []
        for i in range(12):
            pid = people[i % 4]
            sent.append(await upstream.publish(sample("MilestoneReached", participant_id=str(pid), days=i + 1),
                                               agency_id=agency, participant_id=pid))
            await upstream.publish(sample("MilestoneReached", participant_id=str(pid)), agency_id=other,
                                   participant_id=pid)
        first: list[tuple[int, dict]] = []
        sse = {**integrator(agency), "Accept": "text/event-stream"}
        # notifications reacts to milestones with its own events (also the agency's): follow milestones only
        milestones = {"type": "waypoint.monitoring.MilestoneReached.v1"}
        async with client.stream("GET", "/v1/events", params={"after": "0", **milestones},
                                 headers=sse) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await asyncio.wait_for(read_sse(response, 5, first), 60)
        # forced disconnect after 5 events; more events arrive (and one is redelivered) meanwhile
        for i in range(12, 20):
            pid = people[i % 4]
            sent.append(await upstream.publish(sample("MilestoneReached", participant_id=str(pid), days=i + 1),
                                               agency_id=agency, participant_id=pid))
        await upstream.publish(sample("MilestoneReached", participant_id=str(people[0]), days=1),
                               agency_id=agency, participant_id=people[0], event_id=sent[0])
        cursor = first[-1][0]
        rest: list[tuple[int, dict]] = []
        async with client.stream("GET", "/v1/events", params=milestones,
                                 headers={**sse, "Last-Event-ID": str(cursor)}) as response:
            await asyncio.wait_for(read_sse(response, len(sent) - len(first), rest), 60)
        seen = [event["id"] for _, event in first + rest]
        assert len(seen) == len(set(seen)), "an event was served twice"
        assert set(seen) == {str(e) for e in sent}, "an event was missed (or another agency's served)"
        positions = [p for p, _ in first + rest]
        assert positions == sorted(positions) and rest[0][0] > cursor
        # the JSON page form, resumed from the same cursor, agrees with the stream
        page = (await client.get("/v1/events", params={"after": str(cursor), "limit": 500, **milestones},
                                 headers=integrator(agency))).json()
        assert [e["id"] for e in page["events"]] == [event["id"] for _, event in rest]
        assert page["next_cursor"] == str(rest[-1][0]) and page["has_more"] is False
        one = page["events"][0]
        assert one["specversion"] == "1.0" and one["type"] == "waypoint.monitoring.MilestoneReached.v1"
        assert one["agencyid"] == agency and one["source"] == "/waypoint/monitoring"
        assert one["dataclassification"] == "restricted" and one["dataregulation"] == "42CFRPart2"
        assert one["datacontenttype"] == "application/json" and "participant_id" in one["data"]


async def test_pages_filter_by_type_and_only_integrators_of_the_agency_read_them(kafka_bootstrap, database_url):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    pid = uuid.uuid4()
    app = await _notifications(kafka_bootstrap, database_url)
    async with served(app, port(11)) as base, Publisher(kafka_bootstrap) as upstream, \
            httpx.AsyncClient(base_url=base, timeout=30) as client:
        enrolled = await upstream.publish(
            sample("ParticipantEnrolled", participant_id=str(pid), enrolled_at=datetime.now(UTC).isoformat()),
            agency_id=agency, participant_id=pid)
        for days in (1, 7):
            await upstream.publish(sample("MilestoneReached", participant_id=str(pid), days=days),
                                   agency_id=agency, participant_id=pid)
        mine = {"type": ["waypoint.intake.ParticipantEnrolled.v1", "waypoint.monitoring.MilestoneReached.v1"]}
        everything: list[dict] = []
        for _ in range(200):
            everything = (await client.get("/v1/events", params=mine, headers=integrator(agency))).json()["events"]
            if len(everything) == 3:
                break
            await asyncio.sleep(0.1)
        assert len(everything) == 3
        only = (await client.get("/v1/events", params={"type": "waypoint.intake.ParticipantEnrolled.v1"},
                                 headers=integrator(agency))).json()
        assert [e["id"] for e in only["events"]] == [str(enrolled)]
        two = (await client.get("/v1/events", params={"limit": 2, **mine}, headers=integrator(agency))).json()
        assert len(two["events"]) == 2 and two["has_more"] is True
        nxt = (await client.get("/v1/events", params={"after": two["next_cursor"], **mine},
                                headers=integrator(agency))).json()
        assert [e["id"] for e in two["events"] + nxt["events"]] == [e["id"] for e in everything]
        assert (await client.get("/v1/events", headers=integrator("agency-elsewhere"))).json()["events"] == []
        staff = await client.get("/v1/events", headers=bearer("s-1", agency, ["specialist", "agency_admin"]))
        assert staff.status_code == 403 and staff.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/events")).status_code == 401
        bad = await client.get("/v1/events", params={"after": "yesterday"}, headers=integrator(agency))
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        # each page served is an export of the participants in it: on the access log
        audit = await app.state.runtime.pool.fetch(
            "SELECT participant_id, actor, action FROM access_log WHERE agency_id = $1", agency)
        assert audit and {(r["participant_id"], r["actor"], r["action"]) for r in audit} == {
            (pid, "integrator-1", "event feed")}
