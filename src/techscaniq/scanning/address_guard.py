"""Which IP addresses a scan may connect to (the SSRF guard).

A monitoring service fetches URLs its users type in, so without this guard anyone could make it probe
the internal network or read cloud credentials from a metadata endpoint. The guard is applied to every
address a host name resolves to, at connect time (see network.py), so it also holds for redirects and
for DNS rebinding. Deployments that do monitor internal sites set ALLOW_PRIVATE_TARGETS=true.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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


def check_address(host: str, address: str) -> None:
    """Raises BlockedAddressError naming the host and address when `address` is not public."""
    reason = blocked_reason(address)
    if reason is None:
        return
    target = address if host == address else f"{host} ({address})"
    raise BlockedAddressError(
        f"refusing to connect to {target}: {reason}; set ALLOW_PRIVATE_TARGETS=true to monitor internal sites"
    )
