"""Which IP addresses the server may connect to for a tenant (the SSRF guard).

A monitoring service fetches URLs its users type in and posts to receivers they configure, so without
this guard anyone could make it probe the internal network or read cloud credentials from a metadata
endpoint. The guard is applied to every address a host name resolves to, at connect time (see
backend.py, sockets.py, thread_guard.py), so it also holds for redirects and for DNS rebinding.

Two policies exist: scans (ALLOW_PRIVATE_TARGETS=true opens every private address, ALLOWED_TARGET_NETWORKS
a few) and notifications (NOTIFICATION_ALLOWED_NETWORKS: an internal webhook receiver or mail relay).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints: AWS/GCP/Azure/OpenStack, AWS over IPv6, AWS ECS task metadata, Alibaba, Oracle.
_METADATA = {
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200", "192.0.0.192")
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(Exception):
    """Raised at connect time when a host resolves to an address scans may not reach."""


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why `address` may not be scanned (e.g. 'a loopback address'), or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 form that carries an IPv4 address is judged by the IPv4 address it reaches.
        embedded = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            return blocked_reason(embedded)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a reserved address"
    return None


def parse_allowed(entries: str, setting: str) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """`10.0.0.0/8, hooks.internal, 192.168.1.5` -> (networks, host names); ValueError names the bad entry."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries.split(","):
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        labels = entry.split(".")
        if len(entry) > 253 or not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
                                       for label in labels):
            raise ValueError(f"{setting}: {raw.strip()!r} is neither a network (10.0.0.0/8) nor a host name")
        hosts.add(entry)
    return tuple(networks), frozenset(hosts)


@dataclass(frozen=True)
class AddressPolicy:
    """What one kind of outbound request may reach: public addresses, plus what the operator allowed.
    `remedy` ends every refusal, naming the setting that would allow it."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    remedy: str = "set ALLOW_PRIVATE_TARGETS=true to monitor internal sites"

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to `address` (which `host` resolved to) is refused, or None when it is allowed."""
        if self.allow_private or host.lower().rstrip(".") in self.allowed_hosts:
            return None
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self.allowed_networks):
            return None
        reason = blocked_reason(ip)
        if reason is None:
            return None
        target = address if host == address else f"{host} ({address})"
        return f"refusing to connect to {target}: {reason}; {self.remedy}"

    def check(self, host: str, address: str) -> None:
        """Raises BlockedAddressError naming the host, the address and the remedy when it is not allowed."""
        if (refusal := self.refusal(host, address)) is not None:
            raise BlockedAddressError(refusal)

