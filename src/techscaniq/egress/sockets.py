"""A TCP connection to a vetted address, for clients that accept a connected socket (aiosmtplib)."""

from __future__ import annotations

import asyncio
import socket

from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.backend import resolve


async def connect_checked(host: str, port: int, policy: AddressPolicy, timeout_seconds: float) -> socket.socket:
    """Resolve `host`, refuse it (BlockedAddressError) if any address breaks `policy`, connect to the first
    address that answers. The caller owns the socket; TLS still verifies against `host`."""
    async with asyncio.timeout(timeout_seconds):
        addresses = await resolve(host, port, timeout_seconds)
        for address in addresses:
            policy.check(host, address)
        loop = asyncio.get_running_loop()
        last_error: OSError | None = None
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (address, port))
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            except BaseException:
                sock.close()
                raise
            return sock
        assert last_error is not None
        raise last_error
