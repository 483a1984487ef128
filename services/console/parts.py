"""Load several parts of a page at once; a service that is down blanks its parts, not the page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from services.console.clients import NotVisible, ServiceDown


async def gather(down: list[str], **parts: Awaitable[Any]) -> dict[str, Any]:
    """Await every part concurrently. A down service's parts are ``None`` and its name is added to
    ``down``; a part the user may not see (403/404) is ``None`` too. Other failures propagate."""
    names = list(parts)
    results = await asyncio.gather(*parts.values(), return_exceptions=True)
    out: dict[str, Any] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, ServiceDown):
            if result.service not in down:
                down.append(result.service)
            out[name] = None
        elif isinstance(result, NotVisible):
            out[name] = None
        elif isinstance(result, BaseException):
            raise result
        else:
            out[name] = result
    return out
