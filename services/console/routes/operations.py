"""Operations: each service's health figures for the ``operator`` role (never participant data).

The page reads every service's ``GET /v1/operations/status`` (aggregates only: outbox, relay leader,
consumer lag, dead letters, sweeps and queues, set-aside rows) and says what needs attention first."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.clients import Api, NotVisible, ServiceDown
from services.console.session import Session
from services.console.web import api, render, role

router = APIRouter()
SERVICES = ("intake", "planning", "monitoring", "notifications")


async def _status(client: Api, service: str) -> dict[str, Any]:
    try:
        body: dict[str, Any] = await client.get(service, "/v1/operations/status")
    except ServiceDown:
        return {"service": service, "down": True, "problems": [f"{service} is not answering"]}
    except NotVisible:
        return {"service": service, "down": True, "problems": [f"{service} refused the operator's token"]}
    body["lag_total"] = sum(row.get("lag", 0) for row in body.get("consumers") or [])
    return body


@router.get("/operations")
async def operations(request: Request, _: Session = Depends(role("operator")), client: Api = Depends(api)) -> Response:
    statuses = await asyncio.gather(*(_status(client, s) for s in SERVICES))
    problems = [(s["service"], p) for s in statuses for p in s.get("problems") or []]
    return render(request, "operations.html", statuses=statuses, problems=problems, title="Operations")


@router.get("/operations/figures")
async def figures(request: Request, _: Session = Depends(role("operator")), client: Api = Depends(api)) -> Response:
    """The same figures, as the fragment htmx swaps in every 15 s."""
    statuses = await asyncio.gather(*(_status(client, s) for s in SERVICES))
    problems = [(s["service"], p) for s in statuses for p in s.get("problems") or []]
    return render(request, "partials/operations_figures.html", statuses=statuses, problems=problems)
