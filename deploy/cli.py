"""`waypoint`: run the whole system locally, follow a participant, issue development tokens, and
operate it (``status``, ``dlq``, ``rebuild``: :mod:`deploy.ops_cli`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from deploy import infra, kafka_security, keys_cli, ops_cli
from deploy.mailbox import start_mailbox, stop_mailbox
from deploy.services import DEFAULT_PORTS, start_services, stop_services

app = typer.Typer(add_completion=False, help="Waypoint development commands.")
# Wide enough for the timeline table when output is piped (rich assumes 80 columns then).
console = Console(width=None if sys.stdout.isatty() else 150)
STATE = infra.DEFAULT_STATE_DIR
SASL_PORT = 9094  # the development broker's SASL listener (see docs/integrations.md)


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
    os.environ.setdefault("WAYPOINT_KAFKA_SASL_PORT", str(SASL_PORT))
    endpoints = infra.start(state_dir, kafka_port, pg_port)
    console.print(f"kafka      {endpoints.kafka_source:<7} {endpoints.kafka_bootstrap}")
    env = endpoints.as_env()
    per_service: dict[str, dict[str, str]] = {}
    if endpoints.kafka_source == infra.NATIVE:
        sasl = f"127.0.0.1:{os.environ['WAYPOINT_KAFKA_SASL_PORT']}"
        try:
            users = asyncio.run(kafka_security.provision(endpoints.kafka_bootstrap, _credentials(state_dir)))
        except kafka_security.KafkaSecurityError as exc:  # a broker started before SASL existed
            console.print(f"[yellow]kafka sasl not enabled[/] ({exc}); `make down && make up` restarts Kafka with it")
        else:
            console.print(f"kafka sasl         {sasl} (SCRAM-SHA-512, ACLs; the services connect as "
                          "svc-<service>; `waypoint integrator <agency>` creates an agency's principal)")
            # each service on the SASL listener as its own principal; the agency copier (in
            # notifications) as its own too
            per_service = {s: kafka_security.service_env(s, sasl, users) for s in kafka_security.CONSUMES}
    console.print(f"postgres   {endpoints.postgres_source:<7} {endpoints.database_url}")
    # Before notifications: its emails go to the catcher from the first alert on.
    try:
        mailbox = start_mailbox(state_dir)
    except RuntimeError as exc:  # a convenience: Waypoint runs without it (emails then fail and retry)
        console.print(f"[yellow]mailbox not started[/] ({str(exc).splitlines()[0]}); see {state_dir / 'services'}")
    else:
        console.print(f"mailbox    smtp    {mailbox['smtp']}  (caught mail: {mailbox['url']}/v1/messages)")
        per_service["console"] = {"MAILBOX_URL": mailbox["url"]}  # the console's development mailbox page
    if os.environ.get("WAYPOINT_KEYCLOAK", "true") != "false":
        keycloak = _keycloak(state_dir)
        keycloak.start()
        # The services verify the provider's RS256 tokens (JWKS, issuer, audience); in development
        # they also keep accepting `waypoint token`'s HS256 ones.
        env |= {"JWT_JWKS_URL": keycloak.jwks_url, "JWT_ISSUER": keycloak.issuer, "JWT_AUDIENCE": "waypoint-api"}
        console.print(f"keycloak   native  {keycloak.url}  (realm waypoint; admin console {keycloak.url}/admin, "
                      "admin/admin; users in README)")
    urls = start_services(state_dir, env, service_env=per_service)
    for name, url in urls.items():
        if name != "console":
            console.print(f"{name:<14} {url}  (docs: {url}/docs)")
    if "console" in urls:
        console.print(f"[bold]console        {urls['console']}[/]  (open it in a browser; development sign-in)")
    console.print(f"[green]Waypoint is up[/] in {time.monotonic() - t0:.1f}s. Logs: {state_dir / 'services'}.")
    console.print("Try: [bold]make demo[/]  |  stop with: [bold]make down[/]")


def _credentials(state_dir: Path) -> kafka_security.Credentials:
    return kafka_security.Credentials(Path(state_dir) / "kafka" / "credentials.json")


@app.command()
def integrator(agency: str, state_dir: Path = STATE) -> None:
    """Create (or show) the Kafka principal of an agency's integrator: SCRAM-SHA-512 credentials
    allowed to read only that agency's topic (on the running development broker)."""
    bootstrap = infra._kafka_record(state_dir)["endpoint"]
    users = asyncio.run(kafka_security.provision(bootstrap, _credentials(state_dir), agencies=[agency]))
    name = kafka_security.integrator(agency)
    console.print(f"bootstrap  127.0.0.1:{os.environ.get('WAYPOINT_KAFKA_SASL_PORT', SASL_PORT)} "
                  "(security.protocol=SASL_PLAINTEXT, sasl.mechanism=SCRAM-SHA-512)")
    console.print(f"username   {name}\npassword   {users[name]}\ntopic      {kafka_security.agency_topic(agency)}")
    console.print(f"group ids  {name}.<anything>  (read with isolation.level=read_committed)")


@app.command()
def down(state_dir: Path = STATE) -> None:
    """Stop the console, the four services and the development mailbox, then Kafka and PostgreSQL."""
    stop_services(state_dir)
    mailbox = ["mailbox"] if stop_mailbox(state_dir) else []
    keycloak = ["keycloak"] if _keycloak(state_dir).stop() else []
    stopped = infra.stop(state_dir)
    console.print(f"stopped: services, {', '.join(mailbox + keycloak + stopped) or 'no infrastructure'}")


def _keycloak(state_dir: Path):  # -> NativeKeycloak
    from deploy.keycloak_native import NativeKeycloak

    return NativeKeycloak(Path(state_dir) / "keycloak", port=int(os.environ.get("WAYPOINT_KEYCLOAK_PORT", "8180")))


@app.command()
def token(sub: str = "specialist-1", agency: str = "agency-a", role: list[str] = typer.Option(["specialist"])) -> None:
    """Print a development bearer token (HS256 with the development secret)."""
    from shared.auth import issue_token

    print(issue_token(_secret(), sub=sub, agency_id=agency, roles=role, ttl_s=12 * 3600))


@app.command()
def demo(specialist: str = "specialist-1", agency: str = "agency-a") -> None:
    """Enrol one participant, record a PHQ-9, print the timeline the four services built and the
    participant's page in the console."""
    asyncio.run(_demo(specialist, agency))


async def _demo(specialist: str, agency: str, urls: dict[str, str] | None = None) -> str:
    """Run the demo against the services at ``urls`` (default: the development ports); returns the
    participant id."""
    from shared.auth import issue_token

    urls = urls or {name: f"http://127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
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
            entries = r.json().get("entries", [])  # 404 until monitoring has the assignment
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
    console.print(f"Open it in the console (sign in as {specialist}, agency {agency}, role specialist):")
    console.print(console_url(pid), soft_wrap=True)
    return pid


def console_url(participant_id: str) -> str:
    """The console page of a participant (``WAYPOINT_CONSOLE_URL``, default the development console)."""
    base = os.environ.get("WAYPOINT_CONSOLE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/participants/{participant_id}"


@app.command()
def catalogue(
    out: Path = Path("docs/catalogue"),
    check: bool = typer.Option(False, "--check", help="Fail on a breaking change or stale documents; write nothing."),
    release: bool = typer.Option(False, "--release", help="Record the current catalogue as the released one."),
) -> None:
    """Write the event catalogue (AsyncAPI 3, one JSON Schema per event, a Markdown index); with
    --check, compare it with the released catalogue and the documents on disk instead."""
    from shared import catalogue_contract as contract
    from shared.catalogue_export import render, write

    problems = contract.breaking_changes(contract.load_released(), contract.current_snapshot())
    if check:
        stale = [rel for rel, content in render().items()
                 if not (out / rel).is_file() or (out / rel).read_text() != content]
        for problem in problems:
            console.print(f"[red]breaking[/] {problem}")
        if stale:
            console.print(f"[red]stale[/] {len(stale)} catalogue files under {out} (run `waypoint catalogue`), "
                          f"e.g. {stale[0]}")
        if problems or stale:
            raise typer.Exit(1)
        console.print("catalogue compatible with the released one, documents up to date")
        return
    for problem in problems:
        console.print(f"[yellow]breaking[/] {problem}")
    if release:
        if problems:
            console.print("[red]not released[/]: fix the breaking changes (raise the version and add an upcaster)")
            raise typer.Exit(1)
        contract.RELEASED_PATH.write_text(contract.render_released(contract.current_snapshot()))
        console.print(f"released catalogue recorded in {contract.RELEASED_PATH}")
    console.print(f"wrote {len(write(out))} files under {out}")


ops_cli.register(app)
keys_cli.register(app)

if __name__ == "__main__":
    app()
