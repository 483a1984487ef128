"""Operators' commands of the ``waypoint`` CLI: ``status``, ``dlq list|show|redrive``, ``rebuild``.

``status`` asks each service for ``/health/ready`` and ``/v1/operations/status`` (the figures of
:mod:`shared.operations`) and exits 1 when a service is down or reports a problem. Service URLs
default to the local ports and are overridden with ``WAYPOINT_<SERVICE>_URL`` (e.g.
``WAYPOINT_MONITORING_URL=https://monitoring.example``) or ``--url monitoring=https://...``; the
bearer token is ``WAYPOINT_TOKEN`` or, in development, one with the ``operator`` role signed with
the development secret.

``dlq`` and ``rebuild`` talk to Kafka and PostgreSQL directly (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL`` / ``<SERVICE>_DATABASE_URL``, or ``.waypoint/infra.env`` after ``make up``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from deploy import dlq as dead_letters
from deploy import rebuild as rebuilds
from shared.events import SERVICES

console = Console(width=None if sys.stdout.isatty() else 160)
dlq_app = typer.Typer(add_completion=False, help="Dead-lettered records: list, show, redrive.")


def _settings(service: str = "intake") -> Any:
    from shared.settings import load_settings

    return load_settings(service)


# --- status -----------------------------------------------------------------------------------


def service_urls(overrides: list[str] | None = None) -> dict[str, str]:
    """Each service's base URL: ``--url s=URL``, else ``WAYPOINT_<S>_URL``, else the local port."""
    from deploy.services import DEFAULT_PORTS

    urls = {s: os.environ.get(f"WAYPOINT_{s.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[s]}") for s in SERVICES}
    for item in overrides or []:
        name, _, url = item.partition("=")
        if name not in urls or not url:
            raise typer.BadParameter(f"--url {item!r}: expected SERVICE=URL with SERVICE one of {', '.join(SERVICES)}")
        urls[name] = url
    return urls


def operator_token() -> str:
    """``WAYPOINT_TOKEN``, else a development token with the operator role."""
    if token := os.environ.get("WAYPOINT_TOKEN"):
        return token
    from shared.auth import issue_token

    return issue_token(_settings().jwt_secret, sub="operator-cli", agency_id="operations", roles=["operator"],
                       ttl_s=300)


async def fetch_statuses(clients: dict[str, httpx.AsyncClient], token: str) -> dict[str, dict[str, Any]]:
    """For each service: ``ready`` (bool), ``status`` (its figures) or ``error`` (why none)."""

    async def one(client: httpx.AsyncClient) -> dict[str, Any]:
        result: dict[str, Any] = {"ready": False, "status": None, "error": None}
        try:
            ready = await client.get("/health/ready")
            result["ready"] = ready.status_code == 200
            if not result["ready"]:
                result["error"] = f"not ready: {ready.json().get('checks')}"
            response = await client.get("/v1/operations/status", headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 200:
                result["status"] = response.json()
            else:
                result["error"] = f"/v1/operations/status answered {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            result["error"] = f"unreachable: {exc!r}"
        return result

    names = list(clients)
    results = await asyncio.gather(*(one(clients[n]) for n in names))
    return dict(zip(names, results, strict=True))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def render_status(out: Console, results: dict[str, dict[str, Any]]) -> int:
    """Print the services' figures; returns the exit code (1 when anything is wrong)."""
    summary = Table(title="Waypoint services")
    for column in ("service", "ready", "relay leader", "outbox rows", "oldest outbox", "quarantined", "DLQ depth",
                   "sweeps (lateness)", "queues (age)", "set aside"):
        summary.add_column(column)
    lag = Table(title="Consumer lag")
    for column in ("service", "group", "topic", "lag"):
        lag.add_column(column)
    problems: list[str] = []
    for name, result in results.items():
        status = result["status"]
        if result["error"]:
            problems.append(f"{name}: {result['error']}")
        if status is None:
            summary.add_row(name, "[red]no[/]", "-", "-", "-", "-", "-", "-", "-", "-")
            continue
        problems.extend(f"{name}: {p}" for p in status["problems"])
        outbox = status["outbox"]
        dlq = status.get("dlq")
        summary.add_row(
            name,
            "[green]yes[/]" if result["ready"] else "[red]no[/]",
            "[green]yes[/]" if status["relay_leader"] else "[red]none[/]",
            str(outbox["rows"]),
            _age(outbox["oldest_age_s"]),
            "-" if outbox["quarantined"] is None else str(outbox["quarantined"]),
            "-" if dlq is None else str(dlq["depth"]),
            ", ".join(f"{s['name']} {_age(s['age_s'])}" for s in status["sweeps"]) or "-",
            ", ".join(f"{q['name']} {_age(q['age_s'])}" for q in status["queues"]) or "-",
            "-" if status.get("set_aside") is None
            else ", ".join(f"{r['loop']} {r['rows']}" for r in status["set_aside"]) or "0",
        )
        for row in status["consumers"]:
            lag.add_row(name, row["group"], row["topic"], str(row["lag"]))
    out.print(summary)
    out.print(lag)
    if problems:
        out.print("[bold red]Problems:[/]")
        for p in problems:
            out.print(f"  - {p}")
        return 1
    out.print("[bold green]All well.[/]")
    return 0


def status(
    url: list[str] = typer.Option(None, help="SERVICE=URL, repeatable (default: WAYPOINT_<SERVICE>_URL or local)"),
    service: list[str] = typer.Option(None, help="only these services (repeatable)"),
) -> None:
    """Health, consumer lag, outbox age, DLQ depth, sweeps and relay leader of each service.

    Exits 1 when a service is unreachable or not ready, or reports a problem."""
    urls = service_urls(url)
    chosen = service or list(urls)

    async def run() -> dict[str, dict[str, Any]]:
        clients = {s: httpx.AsyncClient(base_url=urls[s], timeout=30) for s in chosen}
        try:
            return await fetch_statuses(clients, operator_token())
        finally:
            for c in clients.values():
                await c.aclose()

    raise typer.Exit(render_status(console, asyncio.run(run())))


# --- dlq --------------------------------------------------------------------------------------


def _bootstrap(bootstrap: str | None) -> str:
    return bootstrap or _settings().kafka_bootstrap_servers


@dlq_app.command("list")
def dlq_list(
    service: list[str] = typer.Option(None, "--service", "-s", help="only these services (repeatable)"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: settings)"),
    all_: bool = typer.Option(False, "--all", help="include records already redriven"),
) -> None:
    """Dead-lettered records with the consumer that failed them and why."""
    servers = _bootstrap(bootstrap)

    async def run() -> list[dead_letters.DeadLetter]:
        found: list[dead_letters.DeadLetter] = []
        for s in service or SERVICES:
            found.extend(await dead_letters.read(servers, s))
        return found

    letters = [d for d in asyncio.run(run()) if all_ or not d.redriven]
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("id", "consumer", "event type", "event id", "failed at", "reason", "redriven"):
        table.add_column(column, overflow="fold")
    for d in letters:
        s = d.summary()
        table.add_row(s["id"], s["consumer"] or "-", s["event_type"] or "-", s["event_id"] or "-",
                      (s["failed_at"] or "-")[:19], s["reason"][:160], "yes" if d.redriven else "no")
    console.print(table)


@dlq_app.command("show")
def dlq_show(
    record_id: str = typer.Argument(..., metavar="ID", help="service:partition:offset (from dlq list)"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: settings)"),
) -> None:
    """One dead-lettered record: every header (the reason in full) and its value."""
    try:
        letter = asyncio.run(dead_letters.show(_bootstrap(bootstrap), record_id))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if letter is None:
        console.print(f"[red]no dead letter {record_id}[/]")
        raise typer.Exit(1)
    table = Table(title=f"Dead letter {letter.id}", show_header=False)
    table.add_column("header")
    table.add_column("value", overflow="fold")
    table.add_row("key", (letter.key or b"").decode(errors="replace"))
    for key, value in letter.headers:
        table.add_row(key, value.decode(errors="replace"))
    table.add_row("redriven", "yes" if letter.redriven else "no")
    console.print(table)
    console.print(letter.value.decode(errors="replace"))


@dlq_app.command("redrive")
def dlq_redrive(
    record_id: str = typer.Argument(None, metavar="[ID]", help="service:partition:offset (from dlq list)"),
    all_: bool = typer.Option(False, "--all", help="every record not redriven yet"),
    service: list[str] = typer.Option(None, "--service", "-s", help="with --all: only these services"),
    consumer: str = typer.Option(None, help="with --all: only records this consumer group failed"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: settings)"),
) -> None:
    """Send dead-lettered records back to the consumer that failed them (its inbox applies each once)."""
    if (record_id is None) == (not all_):
        raise typer.BadParameter("give one ID or --all")
    servers = _bootstrap(bootstrap)
    if record_id is not None:
        try:
            letter = asyncio.run(dead_letters.show(servers, record_id))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if letter is None:
            console.print(f"[red]no dead letter {record_id}[/]")
            raise typer.Exit(1)
        asyncio.run(dead_letters.redrive(servers, [letter]))
        console.print(f"redrove {letter.id} to {letter.consumer}")
        return

    async def run() -> list[dead_letters.DeadLetter]:
        sent: list[dead_letters.DeadLetter] = []
        for s in service or SERVICES:
            sent.extend(await dead_letters.redrive_all(servers, s, consumer))
        return sent

    sent = asyncio.run(run())
    for letter in sent:
        console.print(f"redrove {letter.id} to {letter.consumer}")
    console.print(f"{len(sent)} record(s) redriven")


# --- rebuild ----------------------------------------------------------------------------------


def rebuild(
    service: str = typer.Argument(..., help="monitoring or planning"),
    read_model: str = typer.Argument(None, help="one read model (default: all of the service's)"),
) -> None:
    """Rebuild a service's read model(s), with a progress bar (events/s, ETA)."""
    try:
        models = rebuilds.resolve(service, read_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    cfg = _settings(service)
    for model in models:
        result, elapsed = asyncio.run(run_rebuild(model, cfg.dsn, cfg.kafka_bootstrap_servers, console))
        console.print(f"[green]rebuilt[/] {service} {model.name} in {elapsed:.1f}s: {result}")


async def run_rebuild(
    model: rebuilds.ReadModel, dsn: str, bootstrap: str, out: Console
) -> tuple[dict[str, Any], float]:
    """Run one rebuild with a rich progress bar; returns its result and the seconds it took."""
    from shared import tenancy
    from shared.db import create_pool

    columns = (
        TextColumn(f"{model.service} {model.name}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )
    pool = await create_pool(dsn, min_size=1, max_size=2)
    started = time.perf_counter()
    # A rebuild spans every agency: the explicit system scope of row-level security (shared/tenancy.py).
    scope = tenancy.enter_system()
    try:
        with Progress(*columns, console=out, transient=False) as progress:
            task = progress.add_task(model.name, total=None, rate="")

            def report(done: int, total: int) -> None:
                elapsed = time.perf_counter() - started
                rate = done / elapsed if elapsed > 0 else 0.0
                progress.update(task, completed=done, total=total, rate=f"{rate:,.0f} {model.unit}/s")

            result = await model.run(pool, bootstrap, report)
    finally:
        tenancy.leave(scope)
        await pool.close()
    return result, time.perf_counter() - started


# --- migrate ----------------------------------------------------------------------------------


def migrate(service: list[str] = typer.Argument(None, help="services to migrate (default: all four)")) -> None:
    """Create each service's database if missing, run its migrations to head as the owner and grant
    the service role (``DB_APP_USER``) what it needs: the Helm chart's pre-install/pre-upgrade Job.
    Services do the same at start (serialized by a lock), so running it twice is harmless."""
    from importlib import import_module

    from shared.db import ensure_database, migrate_async
    from shared.tenancy import ensure_app_role

    async def run(name: str) -> None:
        cfg = _settings(name)
        if not cfg.service_database_url:
            await ensure_database(cfg.database_url, f"waypoint_{name}")
        await migrate_async(cfg.dsn, import_module(f"services.{name}.entrypoints.app").MIGRATIONS)
        await ensure_app_role(cfg.dsn, cfg.db_app_user, cfg.db_app_password, create=cfg.development)

    for name in service or SERVICES:
        if name not in SERVICES:
            raise typer.BadParameter(f"{name!r} is not a service ({', '.join(SERVICES)})")
        asyncio.run(run(name))
        console.print(f"[green]migrated[/] {name}")


def register(app: typer.Typer) -> None:
    """Add the operators' commands to the ``waypoint`` CLI."""
    app.command()(status)
    app.command()(migrate)
    app.add_typer(dlq_app, name="dlq")
    app.command()(rebuild)
