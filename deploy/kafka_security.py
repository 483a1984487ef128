"""Kafka principals, SCRAM-SHA-512 credentials and ACLs, created by the project's own code.

Who may do what on the SASL listener (``NativeKafka(sasl_port=...)``):

| principal | may |
|---|---|
| ``svc-<service>`` | write its own topic and DLQ; read the topics it consumes (its groups ``waypoint.<service>.*``) |
| ``agency-copier`` | read the four service topics; write and create ``waypoint.agency.*`` (transactional) |
| ``integrator-<agency>`` | read ``waypoint.agency.<agency>.v1`` only (its groups ``integrator-<agency>.*``) |

The services' principals create no topic and change no topic configuration (no Create, no
AlterConfigs: a service that could set ``retention.ms`` on its topic could erase the log the read
models are rebuilt from). :func:`provision` creates the service topics and DLQs instead, with the
partitions, replication and retention of the settings, through the super-user listener.

Credentials are set with the AlterUserScramCredentials admin API (KIP-554) and ACLs with
CreateAcls, both spoken directly over the Kafka protocol (aiokafka's request framework), so no
extra JVM starts. All of it is idempotent: run at every start.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from shared import agency_copier as copier
from shared.agency_copier import agency_topic
from shared.cloudevents import topic_for
from shared.inbox import dlq_topic
from shared.settings import ServiceSettings

SCRAM_SHA_512 = 2  # the mechanism's id in AlterUserScramCredentials
ITERATIONS = 8192
AGENCY_TOPIC_PREFIX = agency_topic("").removesuffix(".v1")
COPIER = "agency-copier"
COPIER_HOST = "notifications"  # the service whose process runs the copier (NOTIFICATIONS_AGENCY_TOPICS)
COPIER_GROUP = copier.GROUP
COPIER_TRANSACTIONAL_ID = copier.TRANSACTIONAL_ID
#: The services whose topics each service's consumers read. tests/unit/kernel/test_kafka_security_plan.py
#: compares it with the ConsumerSpecs the apps really start (services/*/entrypoints/app.py).
CONSUMES: dict[str, tuple[str, ...]] = {
    "intake": (),
    "planning": ("intake", "monitoring"),
    "monitoring": ("intake", "planning", "monitoring", "notifications"),
    "notifications": ("intake", "planning", "monitoring", "notifications"),
}

# Kafka's enum codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID = 2, 3, 4, 5
LITERAL, PREFIXED = 3, 4
ALL, READ, WRITE, CREATE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 2, 3, 4, 5, 8, 10, 11, 12
ALLOW = 3


@dataclass(frozen=True)
class Acl:
    principal: str  # user name, without "User:"
    resource_type: int
    name: str
    pattern: int
    operation: int


def integrator(agency_id: str) -> str:
    return f"integrator-{agency_id}"


def service_principal(service: str) -> str:
    return f"svc-{service}"


def service_acls() -> list[Acl]:
    out: list[Acl] = []
    for service, consumed in CONSUMES.items():
        user = service_principal(service)
        for topic in (topic_for(service), dlq_topic(service)):
            out += [Acl(user, TOPIC, topic, LITERAL, op) for op in (WRITE, DESCRIBE)]
        for other in consumed:
            out += [Acl(user, TOPIC, topic_for(other), LITERAL, op) for op in (READ, DESCRIBE)]
        out.append(Acl(user, GROUP, f"waypoint.{service}.", PREFIXED, READ))
        out.append(Acl(user, CLUSTER, "kafka-cluster", LITERAL, IDEMPOTENT_WRITE))
    return out


def copier_acls() -> list[Acl]:
    out = [Acl(COPIER, TOPIC, topic_for(s), LITERAL, op)
           for s in CONSUMES for op in (READ, DESCRIBE)]
    out += [Acl(COPIER, TOPIC, AGENCY_TOPIC_PREFIX, PREFIXED, op) for op in (WRITE, DESCRIBE, CREATE)]
    out += [Acl(COPIER, GROUP, COPIER_GROUP, LITERAL, READ),
            Acl(COPIER, TRANSACTIONAL_ID, COPIER_TRANSACTIONAL_ID, PREFIXED, WRITE),
            Acl(COPIER, TRANSACTIONAL_ID, COPIER_TRANSACTIONAL_ID, PREFIXED, DESCRIBE),
            Acl(COPIER, CLUSTER, "kafka-cluster", LITERAL, IDEMPOTENT_WRITE)]
    return out


def integrator_acls(agency_id: str) -> list[Acl]:
    user = integrator(agency_id)
    return [Acl(user, TOPIC, agency_topic(agency_id), LITERAL, READ),
            Acl(user, TOPIC, agency_topic(agency_id), LITERAL, DESCRIBE),
            Acl(user, GROUP, f"{user}.", PREFIXED, READ)]


# --- AlterUserScramCredentials (API key 51), not in aiokafka -------------------------------------


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), ("error_code", Int16),
                                 ("error_message", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        ("upsertions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("iterations", Int32),
                                    ("salt", CompactBytes), ("salted_password", CompactBytes),
                                    ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest(Request[AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51
    _CLASSES = (AlterUserScramCredentialsRequest_v0,)

    def __init__(self, users: dict[str, str]) -> None:
        self._upsertions = []
        for name, password in users.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            self._upsertions.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))

    def build(self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]) -> Any:
        return request_struct_class([], self._upsertions, {})


class KafkaSecurityError(RuntimeError):
    """The broker refused to set a credential or an ACL."""


async def apply(bootstrap: str, users: dict[str, str], acls: Iterable[Acl]) -> None:
    """Set SCRAM-SHA-512 passwords of ``users`` and create ``acls`` (through a super-user listener)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        if users:
            response = await admin._send_request(AlterUserScramCredentialsRequest(users))
            failed = [(r[0], r[1], r[2]) for r in response.results if r[1] != 0]
            if failed:
                raise KafkaSecurityError(f"SCRAM credentials refused: {failed}")
        for acl in dict.fromkeys(acls):
            response = await admin._send_request(CreateAclsRequest(
                acl.resource_type, acl.name, acl.pattern, f"User:{acl.principal}", "*", acl.operation, ALLOW))
            errors = [r for r in response.creation_responses if r[0] != 0]
            if errors:
                raise KafkaSecurityError(f"ACL {acl} refused: {errors}")
    finally:
        await admin.close()


class Credentials:
    """Passwords of the principals, generated once and kept in a file only its owner can read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def ensure(self, names: Iterable[str]) -> dict[str, str]:
        """The passwords of ``names`` (new ones generated and saved)."""
        known = self.load()
        missing = [n for n in names if n not in known]
        if missing:
            known |= {n: secrets.token_urlsafe(24) for n in missing}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(known, indent=2, sort_keys=True))
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
        return {n: known[n] for n in names}


async def provision_topics(bootstrap: str, settings: ServiceSettings | None = None) -> None:
    """Create the four service topics and their DLQs (partitions, replication, retention and
    min.insync.replicas of ``settings``, the environment's by default) through the super-user
    listener ``bootstrap``: the same code a service runs when it connects as the super user."""
    from shared.runtime import ensure_topics  # the whole service kernel: only when provisioning

    base = settings or ServiceSettings()
    for service in CONSUMES:
        await ensure_topics(base.model_copy(update={
            "service": service, "kafka_bootstrap_servers": bootstrap, "kafka_security_protocol": "PLAINTEXT"}))


async def provision(bootstrap: str, credentials: Credentials, agencies: Iterable[str] = (),
                    settings: ServiceSettings | None = None) -> dict[str, str]:
    """Create (or refresh) the service topics, every service principal, the copier and the
    integrators of ``agencies``, with their ACLs. Returns name -> password of those principals."""
    agencies = list(agencies)
    names = [service_principal(s) for s in CONSUMES] + [COPIER] + [integrator(a) for a in agencies]
    users = credentials.ensure(names)
    acls = service_acls() + copier_acls() + [acl for a in agencies for acl in integrator_acls(a)]
    await apply(bootstrap, users, acls)
    await provision_topics(bootstrap, settings)
    return users


def service_env(service: str, bootstrap: str, users: dict[str, str]) -> dict[str, str]:
    """The environment of ``service`` connecting to the SASL listener ``bootstrap`` as its own
    principal (``waypoint up`` and the tests; docker-compose.yml says the same with password files)."""
    user = service_principal(service)
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
           "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": user, "KAFKA_SASL_PASSWORD": users[user]}
    if service == COPIER_HOST:
        env |= {"NOTIFICATIONS_AGENCY_TOPICS": "true", "NOTIFICATIONS_COPIER_KAFKA_USERNAME": COPIER,
                "NOTIFICATIONS_COPIER_KAFKA_PASSWORD": users[COPIER]}
    return env


def write_secrets(directory: Path, users: dict[str, str]) -> None:
    """One file per principal holding its password (``KAFKA_SASL_PASSWORD_FILE``): how the
    containers of docker-compose.yml receive theirs."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, password in users.items():
        path = directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(password)
        os.chmod(tmp, 0o644)  # the services' containers run as another user than kafka-setup
        tmp.replace(path)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--bootstrap", required=True, help="a super-user (PLAINTEXT) listener")
    parser.add_argument("--credentials", type=Path, required=True, help="JSON file of the passwords (kept)")
    parser.add_argument("--agency", action="append", default=[], help="an agency whose integrator to create")
    parser.add_argument("--secrets-dir", type=Path, help="also write each password to DIR/<principal>")
    return parser


def main(argv: list[str] | None = None) -> None:
    """``python -m deploy.kafka_security --bootstrap kafka:9092 --credentials FILE [--agency A ...]``:
    provision the principals through a super-user listener (docker compose's kafka-setup)."""
    import asyncio

    args = argument_parser().parse_args(argv)
    users = asyncio.run(provision(args.bootstrap, Credentials(args.credentials), agencies=args.agency))
    if args.secrets_dir:
        write_secrets(args.secrets_dir, users)
    print(f"provisioned the service topics and {len(users)} principals; passwords in {args.credentials}")


if __name__ == "__main__":
    main()
