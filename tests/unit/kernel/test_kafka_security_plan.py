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


def test_a_process_uses_the_sasl_listener_only_with_its_credentials():
    from shared.settings import ServiceSettings

    plain = ServiceSettings(kafka_bootstrap_servers="h:9092")
    assert plain.kafka_sasl_client() == ("h:9092", {})
    sasl = ServiceSettings(kafka_bootstrap_servers="h:9092", kafka_sasl_bootstrap_servers="h:9094",
                           kafka_sasl_username="agency-copier", kafka_sasl_password="pw")
    assert sasl.kafka_sasl_client() == ("h:9094", {"security_protocol": "SASL_PLAINTEXT",
                                                   "sasl_mechanism": "SCRAM-SHA-512",
                                                   "sasl_plain_username": "agency-copier",
                                                   "sasl_plain_password": "pw"})
