"""The HTTP event feed for integrators without Kafka: ``GET /v1/events?after=<cursor>``.

Served by notifications, the integrator-facing service (webhooks live here too). Its own consumer
group copies every published event of the four topics into ``event_feed``; the position of a
row is the cursor. With ``Accept: text/event-stream`` the answer is a server-sent event stream
that never ends (each event's SSE ``id`` is its cursor, so a reconnecting EventSource resumes by
itself through ``Last-Event-ID``); otherwise it is one JSON page. Only the caller's agency's
events, only for the integration role. Every page served is written to the access log (one row
per participant whose events it held): the feed exports Part 2 records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse

from services.notifications.projections.event_feed import PAGE_MAX, page
from shared.routes import Call, IntegrationCall

router = APIRouter(prefix="/v1")
#: How often an idle stream looks for new events, and how often it sends a keep-alive comment.
POLL_S = 0.25
KEEPALIVE_S = 15.0
CURSOR = r"^[0-9]{1,18}$"


@router.get(
    "/events",
    responses={200: {"content": {"application/json": {}, "text/event-stream": {}},
                     "description": "A JSON page {events, next_cursor, has_more}, or an SSE stream."}},
)
async def events(
    call: IntegrationCall,
    after: Annotated[str, Query(pattern=CURSOR, description="Cursor: the last position seen (0: from the start)")]
    = "0",
    event_type: Annotated[list[str] | None, Query(alias="type", description="Only these CloudEvents types")]
    = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    last_event_id: Annotated[str | None, Header(pattern=CURSOR, include_in_schema=False)] = None,
) -> Response:
    """The caller's agency's events after ``after``, in CloudEvents JSON structured mode."""
    cursor = int(last_event_id if last_event_id is not None else after)
    types = event_type or []
    if "text/event-stream" in call.request.headers.get("accept", ""):
        return StreamingResponse(_stream(call, cursor, types, limit),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    rows = await page(call.pool, call.agency_id, call.caller.sub, cursor, types, limit)
    body = {"events": [orjson.loads(event) for _, event in rows],
            "next_cursor": str(rows[-1][0] if rows else cursor), "has_more": len(rows) == limit}
    return Response(orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


async def _stream(call: Call, cursor: int, types: list[str], limit: int) -> AsyncIterator[bytes]:
    yield b"retry: 1000\n\n"
    idle = 0.0
    while not await call.request.is_disconnected():
        rows = await page(call.pool, call.agency_id, call.caller.sub, cursor, types, limit)
        if rows:
            idle = 0.0
            yield b"".join(b"id: %d\ndata: %s\n\n" % (position, event.encode()) for position, event in rows)
            cursor = rows[-1][0]
            continue
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield b": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
        idle += POLL_S


