"""The outbound-address guard of webhooks (SSRF)."""

import ipaddress

import pytest

from shared.egress import EgressPolicy, EgressRefused, parse_networks

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "fe80::1",
    "fd00:ec2::254", "100.100.100.200", "224.0.0.251", "ff02::1", "0.0.0.0", "::", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "2002:7f00:1::1", "240.0.0.1", "255.255.255.255",
])
def test_internal_addresses_are_refused(address):
    with pytest.raises(EgressRefused):
        EgressPolicy().check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    EgressPolicy().check_address(ipaddress.ip_address(address))


def test_the_allowlist_lets_an_on_premises_partner_through_and_nothing_else():
    policy = EgressPolicy(parse_networks("10.20.0.0/16, 192.168.7.12"))
    policy.check_address(ipaddress.ip_address("10.20.3.4"))
    policy.check_address(ipaddress.ip_address("192.168.7.12"))
    for other in ("10.21.0.1", "192.168.7.13", "127.0.0.1", "169.254.169.254"):
        with pytest.raises(EgressRefused):
            policy.check_address(ipaddress.ip_address(other))


async def test_a_name_is_resolved_and_every_address_checked():
    with pytest.raises(EgressRefused, match="loopback"):
        await EgressPolicy().check_url("http://localhost:8080/hook")
    await EgressPolicy(parse_networks("127.0.0.0/8,::1")).check_url("http://localhost:8080/hook")
    with pytest.raises(EgressRefused) as refused:
        await EgressPolicy().check_url("https://no-such-host.invalid/hook")
    assert refused.value.code == "egress-unresolvable"
