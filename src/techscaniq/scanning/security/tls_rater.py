"""Rate a site's TLS for a scan: probe through the address guard, at most once per `cache_seconds`
per host and port (a full probe is some 10 to 60 handshakes; scans of one origin every few minutes must
not repeat it), and grade the probe with this scan's HSTS.

The cache is per process (each replica of a scale-out deployment probes on its own). Its entries are
bounded in number; the oldest go first.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict

from techscaniq.domain.tls_rating import TLSProbe, TLSRating
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.sockets import connect_checked
from techscaniq.scanning.security.tls_rating import rate
from techscaniq.scanning.security.tls_scan import Connect, ProbeLimits, probe_tls

_MAX_ENTRIES = 10_000


class TLSRater:
    """`policy`: the scan address policy (None: only the address the fetch already connected to is probed);
    `ca_file`: CAs trusted besides the system store; `cache_seconds`: how long a probe is reused."""

    def __init__(self, policy: AddressPolicy | None = None, *, ca_file: str | None = None,
                 cache_seconds: float = 6 * 3600, limits: ProbeLimits | None = None) -> None:
        self.policy = policy
        self.ca_file = ca_file
        self.cache_seconds = cache_seconds
        self.limits = limits or ProbeLimits()
        self._cache: OrderedDict[tuple[str, int], tuple[float, TLSProbe]] = OrderedDict()
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def rate(self, host: str, port: int, *, address: str | None, hsts_max_age: int | None) -> TLSRating | None:
        """None when nothing could be rated; raises ValueError when no address may be probed."""
        probe, cached = await self.probe(host, port, address)
        return rate(probe, hsts_max_age=hsts_max_age, cached=cached)

    async def probe(self, host: str, port: int, address: str | None) -> tuple[TLSProbe, bool]:
        """The probe and whether it came from the cache."""
        key = (host.lower(), port)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # two scans of one origin at once share one probe
            entry = self._cache.get(key)
            if entry is not None and entry[0] > time.monotonic():
                return entry[1], True
            probe = await probe_tls(self._connector(host, port, address), host, port, address=address,
                                    server_hostname=host, ca_file=self.ca_file, limits=self.limits)
            if self.cache_seconds > 0 and probe.error is None:
                self._cache[key] = (time.monotonic() + self.cache_seconds, probe)
                self._cache.move_to_end(key)
                while len(self._cache) > _MAX_ENTRIES:
                    self._cache.popitem(last=False)
        if not lock.locked():
            self._locks.pop(key, None)
        return probe, False

    def _connector(self, host: str, port: int, address: str | None) -> Connect:
        policy, timeout = self.policy, self.limits.handshake_timeout

        async def connect() -> socket.socket:
            if policy is not None:
                # Resolved and vetted again for every connection: a rebinding name cannot slip past.
                return await connect_checked(host, port, policy, timeout)
            if address is None:
                raise ValueError("no vetted address to probe (the fetch connected to none)")
            return await _connect(address, port)  # the address the fetch's guard already vetted

        return connect


async def _connect(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock
