"""The ACL plan: least privilege per principal (the broker enforcing it is tested in
tests/integration/integrations/test_kafka_sasl_acls.py)."""

import pytest

from deploy import kafka_security as sec

pytestmark = pytest.mark.unit


def topics_of(acls, operation):
    return {(a.name, a.pattern) for a in acls if a.resource_type == sec.TOPIC and a.operation == operation}


def test_each_service_writes_only_its_own_topic_and_dlq():
    acls = sec.service_acls()
    for service in sec.CONSUMES:
        mine = [a for a in acls if a.principal == sec.service_principal(service)]
        assert topics_of(mine, sec.WRITE) == {(f"waypoint.{service}.v1", sec.LITERAL),
                                              (f"waypoint.{service}.dlq", sec.LITERAL)}
        assert topics_of(mine, sec.READ) == {(f"waypoint.{s}.v1", sec.LITERAL) for s in sec.CONSUMES[service]}


def test_an_integrator_may_read_its_agency_topic_and_nothing_else():
    acls = sec.integrator_acls("agency-a")
    assert {a.principal for a in acls} == {"integrator-agency-a"}
    assert topics_of(acls, sec.READ) == {("waypoint.agency.agency-a.v1", sec.LITERAL)}
    assert not topics_of(acls, sec.WRITE) and all(a.pattern == sec.LITERAL or a.resource_type == sec.GROUP
                                                  for a in acls)


def test_the_copier_reads_the_service_topics_and_writes_only_agency_topics():
    acls = sec.copier_acls()
    assert topics_of(acls, sec.WRITE) == {("waypoint.agency.", sec.PREFIXED)}
    assert topics_of(acls, sec.READ) == {(f"waypoint.{s}.v1", sec.LITERAL) for s in sec.CONSUMES}


def test_credentials_are_generated_once_and_kept_private(tmp_path):
    store = sec.Credentials(tmp_path / "credentials.json")
    first = store.ensure(["svc-intake", "integrator-a"])
    assert store.ensure(["svc-intake"]) == {"svc-intake": first["svc-intake"]}
    assert (tmp_path / "credentials.json").stat().st_mode & 0o077 == 0


def test_services_may_not_create_topics_or_change_their_configuration():
    """Topics are provisioned by deploy/kafka_security.py: a service that could alter its topic's
    retention could erase the log the read models are rebuilt from."""
    for acl in sec.service_acls():
        assert acl.operation not in (sec.CREATE, sec.ALTER_CONFIGS, sec.ALL), acl


def consumed_by_app(service):
    """The topics the service's app really consumes: its ConsumerSpecs, as create_service_app got them."""
    from importlib import import_module
    from unittest.mock import MagicMock

    app = import_module(f"services.{service}.entrypoints.app").create_app()
    specs = app.state.consumer_specs(MagicMock())  # a runtime: only its attributes are passed on
    return {topic for spec in specs for topic in spec.topics}


@pytest.mark.parametrize("service", sorted(sec.CONSUMES))
def test_each_service_reads_exactly_what_its_app_consumes(service):
    from shared.cloudevents import topic_for

    mine = [a for a in sec.service_acls() if a.principal == sec.service_principal(service)]
    granted = {name for name, pattern in topics_of(mine, sec.READ) if pattern == sec.LITERAL}
    assert consumed_by_app(service) == granted == {topic_for(s) for s in sec.CONSUMES[service]}


def test_plaintext_needs_no_credentials_and_sasl_gives_every_client_the_same_options(tmp_path):
    from shared.settings import ServiceSettings

    assert ServiceSettings(kafka_bootstrap_servers="h:9092").kafka_client_options() == {}
    sasl = ServiceSettings(kafka_bootstrap_servers="h:9094", kafka_security_protocol="SASL_PLAINTEXT",
                           kafka_sasl_username="svc-intake", kafka_sasl_password="pw")
    assert sasl.kafka_authenticated
    assert sasl.kafka_client_options() == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                                           "sasl_plain_username": "svc-intake", "sasl_plain_password": "pw"}
    secret = tmp_path / "svc-intake"
    secret.write_text("from-a-file\n")
    from_file = sasl.model_copy(update={"kafka_sasl_password": None, "kafka_sasl_password_file": secret})
    assert from_file.kafka_client_options()["sasl_plain_password"] == "from-a-file"
    copier = sasl.as_kafka_principal("agency-copier", "other")
    assert copier.kafka_client_options()["sasl_plain_username"] == "agency-copier"
    assert sasl.kafka_client_options()["sasl_plain_username"] == "svc-intake"  # unchanged


def test_sasl_ssl_verifies_the_broker_with_a_context():
    import ssl

    from shared.settings import ServiceSettings

    options = ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u",
                              kafka_sasl_password="p").kafka_client_options()
    assert options["security_protocol"] == "SASL_SSL" and isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("content", [None, "not a certificate"])
def test_an_unusable_ca_file_stops_the_start_with_its_name(tmp_path, content):
    from shared.settings import KafkaCredentialsMissing, ServiceSettings

    cafile = tmp_path / "ca.pem"
    if content is not None:
        cafile.write_text(content)
    settings = ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u", kafka_sasl_password="p",
                               kafka_ssl_cafile=cafile)
    with pytest.raises(KafkaCredentialsMissing, match="KAFKA_SSL_CAFILE"):
        settings.check_security()


@pytest.mark.parametrize("missing", [{"kafka_sasl_username": None}, {"kafka_sasl_password": None},
                                     {"kafka_sasl_password": None, "kafka_sasl_password_file": "/nonexistent/pw"}])
def test_sasl_without_a_credential_refuses_to_start_with_a_clear_message(missing):
    from shared.settings import InsecureSettings, KafkaCredentialsMissing, ServiceSettings

    settings = ServiceSettings(**{"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "svc-intake",
                                  "kafka_sasl_password": "pw", **missing})
    with pytest.raises(KafkaCredentialsMissing, match="KAFKA_SASL"):  # serve() prints it on one line, exits 1
        settings.check_security()
    assert issubclass(KafkaCredentialsMissing, InsecureSettings)


def test_service_env_names_are_settings_the_services_read():
    from services.notifications.settings import NotificationSettings
    from shared.settings import ServiceSettings

    users = {n: "pw" for n in [sec.service_principal(s) for s in sec.CONSUMES] + [sec.COPIER]}
    for service in sec.CONSUMES:
        env = sec.service_env(service, "127.0.0.1:9094", users)
        for name in env:
            if name.startswith("NOTIFICATIONS_"):
                assert name.removeprefix("NOTIFICATIONS_").lower() in NotificationSettings.model_fields, name
            else:
                assert name.lower() in ServiceSettings.model_fields, name
        assert env["KAFKA_SASL_USERNAME"] == f"svc-{service}"
    assert sec.service_env("notifications", "b", users)["NOTIFICATIONS_COPIER_KAFKA_USERNAME"] == sec.COPIER


def test_notifications_does_not_start_its_copier_without_the_copiers_credential():
    from services.notifications.entrypoints.app import create_app
    from services.notifications.settings import NotificationSettings
    from shared.settings import KafkaCredentialsMissing, ServiceSettings

    sasl = ServiceSettings(service="notifications", kafka_security_protocol="SASL_PLAINTEXT",
                           kafka_sasl_username="svc-notifications", kafka_sasl_password="pw")
    with pytest.raises(KafkaCredentialsMissing):
        create_app(sasl, NotificationSettings(agency_topics=True))
    create_app(sasl, NotificationSettings(agency_topics=True, copier_kafka_password="copier-pw"))
    create_app(sasl, NotificationSettings(agency_topics=False))


KAFKA_CLIENTS = {"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient", "AIOKafkaClient", "producer_for"}


def test_every_kafka_client_the_services_build_takes_the_security_options():
    """Each aiokafka client built in shared/ or services/ passes keyword options through (``**``):
    a new client that forgot them would connect as nobody on the SASL listener. (The test helpers
    in shared/testing talk to the tests' plaintext broker.)"""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    calls = []
    for path in [*root.joinpath("shared").rglob("*.py"), *root.joinpath("services").rglob("*.py")]:
        if "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in KAFKA_CLIENTS:
                    calls.append((f"{path.relative_to(root)}:{node.lineno}", name,
                                  any(k.arg is None for k in node.keywords)))
    assert len(calls) >= 8  # the relay, the consumers and their DLQ, topic setup, readiness, figures, copier, rebuild
    assert [where for where, name, passes in calls if not passes] == []


@pytest.mark.parametrize("sasl_enabled", [True, False])
def test_waypoint_up_starts_each_service_as_its_principal_or_stays_on_plaintext(monkeypatch, tmp_path, sasl_enabled):
    """`waypoint up`'s wiring, without starting anything: provisioned -> every service gets
    service_env on the SASL listener; a broker without SASL -> the services keep plaintext."""
    from deploy import cli, infra

    started: dict = {}
    users = {n: f"pw-{n}" for n in [sec.service_principal(s) for s in sec.CONSUMES] + [sec.COPIER]}

    async def provision(bootstrap, credentials, agencies=(), settings=None):
        if not sasl_enabled:
            raise sec.KafkaSecurityError("ACL refused: SECURITY_DISABLED")
        return users

    monkeypatch.setenv("WAYPOINT_KAFKA_SASL_PORT", "19999")
    monkeypatch.setenv("WAYPOINT_KEYCLOAK", "false")
    monkeypatch.setattr(cli.infra, "start", lambda *a: infra.Endpoints("127.0.0.1:19998", "postgresql://x/postgres"))
    monkeypatch.setattr(cli.kafka_security, "provision", provision)
    monkeypatch.setattr(cli, "start_mailbox", lambda state: (_ for _ in ()).throw(RuntimeError("no mailbox")))
    monkeypatch.setattr(cli, "start_services", lambda state, env, service_env: started.update(
        env=env, service_env=service_env) or {})
    cli.up(state_dir=tmp_path, kafka_port=19998, pg_port=19997)
    per_service = started["service_env"]
    if sasl_enabled:
        assert {s: per_service[s] for s in sec.CONSUMES} == {
            s: sec.service_env(s, "127.0.0.1:19999", users) for s in sec.CONSUMES}
    else:
        assert not any(s in per_service for s in sec.CONSUMES)
    assert started["env"]["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19998"


def test_the_secret_files_kafka_setup_writes_are_what_the_settings_read(tmp_path):
    from shared.settings import ServiceSettings

    sec.write_secrets(tmp_path / "secrets", {"svc-intake": "pw-intake", "agency-copier": "pw-copier"})
    settings = ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="svc-intake",
                               kafka_sasl_password_file=tmp_path / "secrets" / "svc-intake")
    assert settings.kafka_client_options()["sasl_plain_password"] == "pw-intake"
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["agency-copier", "svc-intake"]
