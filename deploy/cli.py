"""`waypoint`: run the whole system locally, follow a participant, issue development tokens."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from deploy import infra
from deploy.mailbox import start_mailbox, stop_mailbox
from deploy.services import DEFAULT_PORTS, start_services, stop_services

app = typer.Typer(add_completion=False, help="Waypoint development commands.")
# Wide enough for the timeline table when output is piped (rich assumes 80 columns then).
console = Console(width=None if sys.stdout.isatty() else 150)
STATE = infra.DEFAULT_STATE_DIR


def _secret() -> str:
    from shared.settings import ServiceSettings

    return ServiceSettings().jwt_secret


@app.command()
def up(
    state_dir: Path = STATE, kafka_port: int = infra.DEFAULT_KAFKA_PORT, pg_port: int = infra.DEFAULT_PG_PORT
) -> None:
    """Start Kafka, PostgreSQL, the development mailbox, the four services and the console (reuses
    whatever is already running)."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    endpoints = infra.start(state_dir, kafka_port, pg_port)
    console.print(f"kafka      {endpoints.kafka_source:<7} {endpoints.kafka_bootstrap}")
    console.print(f"postgres   {endpoints.postgres_source:<7} {endpoints.database_url}")
    # Before notifications: its emails go to the catcher from the first alert on.
    mailbox = start_mailbox(state_dir)
    console.print(f"mailbox    smtp    {mailbox['smtp']}  (caught mail: {mailbox['url']}/v1/messages)")
    urls = start_services(state_dir, {**endpoints.as_env(), "MAILBOX_URL": mailbox["url"]})
    for name, url in urls.items():
        if name != "console":
            console.print(f"{name:<14} {url}  (docs: {url}/docs)")
    if "console" in urls:
        console.print(f"[bold]console        {urls['console']}[/]  (open it in a browser; development sign-in)")
    console.print(f"[green]Waypoint is up[/] in {time.monotonic() - t0:.1f}s. Logs: {state_dir / 'services'}.")
    console.print("Try: [bold]make demo[/]  |  stop with: [bold]make down[/]")


@app.command()
def down(state_dir: Path = STATE) -> None:
    """Stop the console, the four services and the development mailbox, then Kafka and PostgreSQL."""
    stop_services(state_dir)
    mailbox = ["mailbox"] if stop_mailbox(state_dir) else []
    stopped = infra.stop(state_dir)
    console.print(f"stopped: services, {', '.join(mailbox + stopped) or 'no infrastructure'}")


@app.command()
def token(sub: str = "specialist-1", agency: str = "agency-a", role: list[str] = typer.Option(["specialist"])) -> None:
    """Print a development bearer token (HS256 with the development secret)."""
    from shared.auth import issue_token

    print(issue_token(_secret(), sub=sub, agency_id=agency, roles=role, ttl_s=12 * 3600))


@app.command()
def demo(specialist: str = "specialist-1", agency: str = "agency-a") -> None:
    """Enrol one participant, record a PHQ-9, and print the timeline the four services built."""
    asyncio.run(_demo(specialist, agency))


async def _demo(specialist: str, agency: str) -> None:
    from shared.auth import issue_token

    urls = {name: f"http://127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
    auth = {"Authorization": "Bearer " + issue_token(_secret(), sub=specialist, agency_id=agency,
                                                      roles=["specialist"])}
    async with httpx.AsyncClient(timeout=10, headers=auth) as http:
        r = await http.post(f"{urls['intake']}/v1/participants",
                            json={"display_name": "Demo Participant", "specialist_id": specialist})
        r.raise_for_status()
        pid = r.json()["participant_id"]
        console.print(f"enrolled participant [bold]{pid}[/]")
        r = await http.post(f"{urls['intake']}/v1/participants/{pid}/assessments",
                            json={"phq9": {"answers": [2, 1, 2, 1, 1, 2, 1, 1, 0]}})
        r.raise_for_status()
        console.print(f"recorded PHQ-9 assessment {r.json()['assessment_id']}")
        entries: list[dict] = []
        for _ in range(100):
            r = await http.get(f"{urls['monitoring']}/v1/participants/{pid}/timeline")
            entries = r.json()["entries"]
            if {"PlanCreated", "NotificationSent"} <= {e["type"] for e in entries}:
                break
            await asyncio.sleep(0.2)
    table = Table(title=f"Timeline of {pid}")
    for column in ("#", "when (UTC)", "service", "event", "what happened"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e["position"]), e["occurred_at"][11:23], e["service"], e["type"], e["summary"])
    console.print(table)
    console.print(f"Follow it: GET {urls['monitoring']}/v1/participants/{pid}/timeline")


@app.command()
def catalogue(out: Path = Path("docs/catalogue")) -> None:
    """Write the event catalogue: AsyncAPI 3, one JSON Schema per event, and a Markdown index."""
    from shared.catalogue_export import write

    console.print(f"wrote {len(write(out))} files under {out}")


if __name__ == "__main__":
    app()
