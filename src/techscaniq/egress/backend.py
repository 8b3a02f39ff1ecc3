"""The network layer under httpcore: resolves and vets addresses itself, and times every phase.

httpcore asks a network backend for connections. This one resolves the host name itself (so DNS time
is measured and every resolved address passes the address guard — for the first request, for each
redirect and for each new connection, which defeats DNS rebinding), connects to a vetted IP (TLS SNI
and the Host header keep the name), and hands back a stream that notes when the connection was set
up. Request moments (TTFB, download) are not taken here: over HTTP/2 one connection carries many
streams plus control frames, so the fetcher times each request through httpcore's trace hooks instead.
The stream passes `get_extra_info` through, so httpcore sees the TLS object and the ALPN choice (h2).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore

from techscaniq.egress.address_guard import AddressPolicy


class DNSResolutionError(Exception):
    """The host name did not resolve (or resolving it took longer than the connect timeout)."""


@dataclass
class ConnectionTimings:
    """Setup of one connection, in milliseconds."""

    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    remote_ip: str | None = None


class TimedStream(httpcore.AsyncNetworkStream):
    """Passes everything through and carries the setup timings of its connection."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, timings: ConnectionTimings) -> None:
        self._inner = inner
        self.timings = timings

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's API)
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        started = time.perf_counter()
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        self.timings.tls_ms = (time.perf_counter() - started) * 1000
        return TimedStream(inner, self.timings)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve (timed), vet every address against `policy`, connect (timed) to a vetted address."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timings = ConnectionTimings()
        started = time.perf_counter()
        addresses = await resolve(host, port, timeout)
        timings.dns_ms = (time.perf_counter() - started) * 1000
        for address in addresses:
            self._policy.check(host, address)
        connect_started = time.perf_counter()
        stream: httpcore.AsyncNetworkStream | None = None
        for address in addresses:  # in resolver order; the next one only if the previous refused
            remaining = None if timeout is None else max(0.001, timeout - (time.perf_counter() - started))
            try:
                stream = await self._inner.connect_tcp(address, port, remaining, local_address, socket_options)
            except httpcore.ConnectError:
                if address == addresses[-1]:
                    raise
                continue
            timings.remote_ip = address
            break
        assert stream is not None
        timings.connect_ms = (time.perf_counter() - connect_started) * 1000
        return TimedStream(stream, timings)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.UnsupportedProtocol("outbound requests connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def resolve(host: str, port: int, limit_seconds: float | None) -> list[str]:
    """The addresses of `host` in resolver order (an IP literal is its own answer, without a lookup)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(limit_seconds):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise DNSResolutionError(f"resolving {host} took longer than {limit_seconds:g} s") from None
    except OSError as exc:
        raise DNSResolutionError(f"could not resolve {host}: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise DNSResolutionError(f"could not resolve {host}: no addresses")
    return addresses
