"""``GET /v1/operations/status``: a service's operational figures, for the ``operator`` role.

Aggregates only (lag, ages, counts, leadership): no participant, agency or event data, so an
operator sees how the service is doing and nothing of the people it serves. Every service gets
this route from :func:`shared.runtime.create_service_app`; the web console's Operations page and
``waypoint status`` read it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from shared.auth import Principal
from shared.http import require_roles

router = APIRouter(prefix="/v1/operations", tags=["operations"])
operator = require_roles("operator")


@router.get("/status")
async def operations_status(request: Request, caller: Principal = Depends(operator)) -> dict[str, Any]:
    """Consumer lag, outbox, dead letters, sweeps, queues and relay leadership of this service.

    ``problems`` lists what an operator should act on (empty when all is well).
    """
    from shared.operations import collect_for
    from shared.tenancy import system_scope

    # counts over every agency (no participant data): the explicit system scope of row-level security
    with system_scope():
        return await collect_for(request.app.state.runtime)
