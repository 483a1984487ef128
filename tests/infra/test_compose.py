"""docker-compose.yml cannot be run here (no container engine in CI): this reads it and checks it
against the model the native setup runs (deploy.kafka_security's principals and service_env, the
settings the services read, their ports, the SASL broker settings of deploy.kafka_native), so the
two cannot drift apart silently."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy import kafka_security as sec
from deploy.kafka_native import _sasl_props
from services.notifications.settings import NotificationSettings
from shared.events import SERVICES
from shared.settings import DEFAULT_PORTS, ServiceSettings

pytestmark = pytest.mark.unit
COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
SERVICES_OF = COMPOSE["services"]
PASSWORD_FILES = {"KAFKA_SASL_PASSWORD": "KAFKA_SASL_PASSWORD_FILE",
                  "NOTIFICATIONS_COPIER_KAFKA_PASSWORD": "NOTIFICATIONS_COPIER_KAFKA_PASSWORD_FILE"}


def env_of(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES_OF[name].get("environment", {}).items()}


def broker_properties() -> dict[str, str]:
    """The kafka image's environment as broker properties (KAFKA_A_B -> a.b, __ -> _, ___ -> -)."""
    props = {}
    for key, value in env_of("kafka").items():
        name = key.removeprefix("KAFKA_").lower().replace("___", "\0").replace("__", "\1").replace("_", ".")
        props[name.replace("\0", "-").replace("\1", "_")] = value
    return props


def listeners(value: str) -> dict[str, str]:
    return dict(item.split("://", 1) for item in value.split(","))


def setup_args():
    command = SERVICES_OF["kafka-setup"]["command"]
    assert command[:3] == ["python", "-m", "deploy.kafka_security"], command
    return sec.argument_parser().parse_args(command[3:])


def services_listener() -> tuple[str, str]:
    """(name, host:port) of the listener the services use, from the services' bootstrap."""
    bootstrap = env_of("intake")["KAFKA_BOOTSTRAP_SERVERS"]
    advertised = listeners(broker_properties()["advertised.listeners"])
    matching = [name for name, address in advertised.items() if address == bootstrap]
    assert len(matching) == 1, (bootstrap, advertised)
    return matching[0], bootstrap


def test_the_four_services_infrastructure_and_provisioning_are_there():
    assert set(SERVICES) | {"kafka", "kafka-setup", "postgres"} <= set(SERVICES_OF)
    for service in SERVICES:
        assert SERVICES_OF[service]["command"] == ["python", "-m", f"services.{service}"]
        assert SERVICES_OF[service]["depends_on"]["kafka-setup"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_the_environment_waypoint_up_gives_it(service):
    """The same names and values as deploy.kafka_security.service_env (passwords as files)."""
    env = env_of(service)
    users = {name: f"<{name}>" for name in [sec.service_principal(s) for s in sec.CONSUMES] + [sec.COPIER]}
    expected = sec.service_env(service, services_listener()[1], users)
    setup = setup_args()
    for name, value in expected.items():
        if name in PASSWORD_FILES:
            principal = value.strip("<>")
            assert env[PASSWORD_FILES[name]] == f"{setup.secrets_dir}/{principal}", name
            assert name not in env, f"{name}: a password in clear in the compose file"
        else:
            assert env.get(name) == value, (name, env.get(name), value)
    kafka_env = {k for k in env if k.startswith(("KAFKA_", "NOTIFICATIONS_"))}
    assert kafka_env == {PASSWORD_FILES.get(k, k) for k in expected}  # nothing beyond the model


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_the_service_reads_and_the_ports_match(service):
    own = {f"{service.upper()}_DATABASE_URL"}
    for name in env_of(service):
        if name.startswith("NOTIFICATIONS_"):
            assert service == "notifications"
            assert name.removeprefix("NOTIFICATIONS_").lower() in NotificationSettings.model_fields, name
        else:
            assert name.lower() in ServiceSettings.model_fields or name in own, name
    port = DEFAULT_PORTS[service]
    assert int(env_of(service)["HTTP_PORT"]) == port
    assert SERVICES_OF[service]["ports"] == [f"{port}:{port}"]


def test_the_password_files_are_where_kafka_setup_writes_them():
    setup = setup_args()
    mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES_OF["kafka-setup"]["volumes"]}
    volume = mounts[str(setup.secrets_dir)]
    assert volume in COMPOSE["volumes"]
    for service in SERVICES:
        assert f"{volume}:{setup.secrets_dir}:ro" in SERVICES_OF[service]["volumes"]


def test_the_broker_enforces_what_the_native_sasl_broker_enforces():
    props = broker_properties()
    native = _sasl_props(9092, 9093, 9094)
    for key in ("sasl.enabled.mechanisms", "authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found"):
        assert props[key] == native[key], key
    protocols = dict(item.split(":") for item in props["listener.security.protocol.map"].split(","))
    name, _ = services_listener()
    assert protocols[name] == env_of("intake")["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env_of("intake")["KAFKA_SASL_MECHANISM"] in props["sasl.enabled.mechanisms"].split(",")
    for listener, protocol in protocols.items():  # every SASL listener can log SCRAM users in
        if protocol.startswith("SASL"):
            assert f"listener.name.{listener.lower()}.scram-sha-512.sasl.jaas.config" in props, listener
    # provisioning goes through the listener of the anonymous super user, the services never do
    setup_host = setup_args().bootstrap
    plaintext = [n for n, address in listeners(props["advertised.listeners"]).items() if address == setup_host]
    assert plaintext and protocols[plaintext[0]] == "PLAINTEXT"
    assert props["auto.create.topics.enable"] == "false"


def test_provisioning_creates_the_topics_with_the_settings_the_services_expect():
    setup_env = env_of("kafka-setup")
    assert int(setup_env["KAFKA_PARTITIONS"]) == int(broker_properties()["num.partitions"])
    assert all(name.lower() in ServiceSettings.model_fields for name in setup_env)


def test_the_image_holds_what_kafka_setup_runs():
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert SERVICES_OF["kafka-setup"]["build"] == "." and "COPY deploy ./deploy" in dockerfile
