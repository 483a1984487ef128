"""``waypoint keys``: the operator's side of the key ring (shared/keyring.py).

``status`` counts each service's data keys by the master key that wraps them, and the erased
participants' tombstones. ``rotate`` re-wraps every live data key under the current master key
(``WAYPOINT_MASTER_KEY`` / ``WAYPOINT_MASTER_KEY_ID``), opening them with the earlier keys listed
in ``WAYPOINT_PREVIOUS_MASTER_KEYS``; no sealed value is re-encrypted. Both connect as the owner
(``DATABASE_URL`` / ``<SERVICE>_DATABASE_URL``) and work in the system scope.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from shared.events import SERVICES

console = Console(width=None if sys.stdout.isatty() else 160)
keys_app = typer.Typer(add_completion=False, help="Per-participant data keys: status, master-key rotation.")


def _services(chosen: list[str] | None) -> list[str]:
    for name in chosen or ():
        if name not in SERVICES:
            raise typer.BadParameter(f"{name!r} is not a service ({', '.join(SERVICES)})")
    return list(chosen or SERVICES)


async def _connect(service: str) -> tuple[Any, asyncpg.Connection]:
    from shared.settings import load_settings

    settings = load_settings(service)
    conn = await asyncpg.connect(settings.dsn)
    # the owner is held to row-level security too: every agency's keys, for this session
    await conn.execute("SELECT set_config('waypoint.system', 'on', false)")
    return settings, conn


async def _status(service: str) -> list[tuple[str, str, int]]:
    _, conn = await _connect(service)
    try:
        rows = await conn.fetch(
            "SELECT COALESCE(master_key_id, '(erased)') AS key_id, count(*) AS n FROM data_keys"
            " GROUP BY 1 ORDER BY 1")
    finally:
        await conn.close()
    return [(service, r["key_id"], r["n"]) for r in rows]


@keys_app.command("status")
def status(service: list[str] = typer.Argument(None, help="services (default: all four)")) -> None:
    """Data keys per service by wrapping master key; erased participants as ``(erased)``."""
    table = Table("service", "master key", "data keys")
    for name in _services(service):
        for svc, key_id, count in asyncio.run(_status(name)):
            table.add_row(svc, key_id, str(count))
    console.print(table)


async def _rotate(service: str) -> tuple[int, str]:
    from shared.keyring import KeyRing

    settings, conn = await _connect(service)
    try:
        ring = KeyRing(settings.master_keys())
        return await ring.rotate(conn), ring.master.current_id
    finally:
        await conn.close()


@keys_app.command("rotate")
def rotate(service: list[str] = typer.Argument(None, help="services (default: all four)")) -> None:
    """Re-wrap every data key under the current master key. Set the new key as
    ``WAYPOINT_MASTER_KEY``/``WAYPOINT_MASTER_KEY_ID`` and the old one in
    ``WAYPOINT_PREVIOUS_MASTER_KEYS`` (``id=base64``) first; retire the old key once this reports
    nothing left under it (``waypoint keys status``)."""
    for name in _services(service):
        done, current = asyncio.run(_rotate(name))
        console.print(f"[green]{name}[/]: {done} data keys re-wrapped under {current}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
