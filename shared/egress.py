"""Outbound HTTP to addresses a tenant chose (webhooks): never into our own network.

A webhook URL is typed by an agency admin or an integration; without a guard it can point the
service at ``127.0.0.1``, a database on the private network or a cloud metadata endpoint
(``169.254.169.254``) and turn deliveries into requests from inside. The guard resolves the host
and refuses the URL if any address it resolves to is loopback, private, link-local, multicast,
shared (carrier-grade NAT, where some clouds put metadata), reserved or unspecified, including
IPv4 addresses wrapped in IPv6. It runs when the URL is registered and again before every send,
since DNS answers can change. On-premises partners on a private network are let through by
listing their networks in an explicit allowlist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: ranges refused on top of what ``ipaddress`` calls private/loopback/link-local/...
_ALSO_REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "100.64.0.0/10",  # shared address space (CGNAT); Alibaba Cloud's metadata is 100.100.100.200
    "192.0.0.0/24",  # IETF protocol assignments
    "198.18.0.0/15",  # benchmarking
    "fd00:ec2::254/128",  # AWS metadata over IPv6 (inside fc00::/7 too, named for clarity)
))


class EgressRefused(ValueError):
    """The URL leads to an address outbound requests may not reach."""

    def __init__(self, message: str, code: str = "egress-refused") -> None:
        super().__init__(message)
        self.code = code


def parse_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """``"10.1.0.0/16, 127.0.0.1"`` (or a list) as networks; a bare address is a /32 or /128."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def refused_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refused_reason(mapped)
    for attribute in ("is_loopback", "is_link_local", "is_multicast", "is_private", "is_reserved",
                      "is_unspecified"):
        if getattr(address, attribute):
            return attribute.removeprefix("is_").replace("_", "-")
    if any(address in network for network in _ALSO_REFUSED if network.version == address.version):
        return "special-purpose"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Which addresses outbound webhook requests may reach: public ones, plus ``allowed_networks``."""

    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def check_address(self, address: IPAddress) -> None:
        if any(address in network for network in self.allowed_networks if network.version == address.version):
            return
        reason = refused_reason(address)
        if reason is not None:
            raise EgressRefused(f"the webhook host resolves to a {reason} address, which is not allowed")

    async def check_url(self, url: str) -> None:
        """Resolve the URL's host (without blocking the loop) and check every address it has."""
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise EgressRefused("the webhook URL must be an absolute http(s) URL", code="egress-invalid-url")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(literal)
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise EgressRefused("the webhook host does not resolve", code="egress-unresolvable") from exc
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        if not addresses:
            raise EgressRefused("the webhook host does not resolve", code="egress-unresolvable")
        for address in sorted(addresses, key=str):
            self.check_address(address)
