"""A hand-built ClientHello for what this OpenSSL can no longer offer: SSL 3.0, and the RC4, 3DES, DES,
NULL-MD5 and export suites that OpenSSL 3/4 dropped. The server's ServerHello alone says whether it
accepts them (its version and chosen suite); the handshake is not finished, which it could not be here.

Each hello is one connection from the caller's `connect` (through the address guard), bounded by a timeout
and a read limit. Suites are enumerated as the probe does: offer all, note the choice, take it out, repeat.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable

from techscaniq.scanning.security.sites import is_ip_literal
from techscaniq.scanning.security.tls_server_flight import (
    MAX_KEPT,
    ServerFlight,
    read_server_flight,
    server_hello_complete,
)

VERSIONS = {"SSLv3": 0x0300, "TLSv1.0": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303}
# IANA number -> (OpenSSL's name, key bits), the suites OpenSSL 3+ cannot offer, worst first.
LEGACY_SUITES: dict[int, tuple[str, int]] = {
    0x0003: ("EXP-RC4-MD5", 40), 0x0006: ("EXP-RC2-CBC-MD5", 40), 0x0008: ("EXP-DES-CBC-SHA", 40),
    0x0014: ("EXP-EDH-RSA-DES-CBC-SHA", 40), 0x0001: ("NULL-MD5", 0), 0x0009: ("DES-CBC-SHA", 56),
    0x0015: ("EDH-RSA-DES-CBC-SHA", 56), 0x0004: ("RC4-MD5", 128), 0x0005: ("RC4-SHA", 128),
    0xC011: ("ECDHE-RSA-RC4-SHA", 128), 0xC007: ("ECDHE-ECDSA-RC4-SHA", 128), 0x000A: ("DES-CBC3-SHA", 112),
    0x0016: ("EDH-RSA-DES-CBC3-SHA", 112), 0xC012: ("ECDHE-RSA-DES-CBC3-SHA", 112),
    0xC008: ("ECDHE-ECDSA-DES-CBC3-SHA", 112),
}
# What an SSL 3.0 client offered besides: the CBC suites SSL 3.0 can carry.
SSLV3_SUITES: dict[int, tuple[str, int]] = {
    **LEGACY_SUITES, 0x0002: ("NULL-SHA", 0), 0x002F: ("AES128-SHA", 128), 0x0035: ("AES256-SHA", 256),
    0x0033: ("DHE-RSA-AES128-SHA", 128), 0x0039: ("DHE-RSA-AES256-SHA", 256),
    0xC013: ("ECDHE-RSA-AES128-SHA", 128), 0xC014: ("ECDHE-RSA-AES256-SHA", 256),
}
_SCSV_RENEGOTIATION = 0x00FF
# x25519, P-256, P-384, P-521; uncompressed points; RSA/ECDSA with SHA-256/384/512/SHA-1.
_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019)
_SIGNATURES = (0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0603, 0x0201, 0x0203)

Connect = Callable[[], Awaitable[socket.socket]]


def _vector(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _extension(kind: int, data: bytes) -> bytes:
    return kind.to_bytes(2, "big") + _vector(data, 2)


def client_hello(version: int, codes: list[int], server_hostname: str | None) -> bytes:
    """One ClientHello record (RFC 5246 7.4.1.2; SSL 3.0 without extensions)."""
    suites = b"".join(code.to_bytes(2, "big") for code in [*codes, _SCSV_RENEGOTIATION])
    body = version.to_bytes(2, "big") + os.urandom(32) + b"\x00" + _vector(suites, 2) + b"\x01\x00"
    if version > VERSIONS["SSLv3"]:
        extensions = b""
        if server_hostname and not is_ip_literal(server_hostname):
            name = server_hostname.encode("idna")
            extensions += _extension(0x0000, _vector(b"\x00" + _vector(name, 2), 2))
        extensions += _extension(0x000A, _vector(b"".join(group.to_bytes(2, "big") for group in _GROUPS), 2))
        extensions += _extension(0x000B, b"\x01\x00")
        if version >= VERSIONS["TLSv1.2"]:
            extensions += _extension(0x000D, _vector(b"".join(item.to_bytes(2, "big") for item in _SIGNATURES), 2))
        body += _vector(extensions, 2)
    handshake = b"\x01" + _vector(body, 3)
    return b"\x16" + min(version, VERSIONS["TLSv1.0"]).to_bytes(2, "big") + _vector(handshake, 2)


async def send_hello(connect: Connect, version: int, codes: list[int], server_hostname: str | None,
                     timeout_seconds: float) -> ServerFlight | None:
    """The server's answer to one ClientHello; None when it refused (alert, close or reset)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_seconds):
        sock = await connect()
        try:
            await loop.sock_sendall(sock, client_hello(version, codes, server_hostname))
            received = bytearray()
            while len(received) < MAX_KEPT and not server_hello_complete(bytes(received)):
                try:
                    data = await loop.sock_recv(sock, 16384)
                except (ConnectionResetError, BrokenPipeError):
                    return None
                if not data:
                    break
                received += data
        finally:
            sock.close()
    flight = read_server_flight(bytes(received))
    return None if flight.alert or flight.cipher_code is None else flight


async def accepted_suites(connect: Connect, protocol: str, offer: dict[int, tuple[str, int]],
                          server_hostname: str | None, *, timeout_seconds: float,
                          max_suites: int) -> list[int]:
    """The suites of `offer` the server accepts with `protocol`, in the order it chose them."""
    version, remaining = VERSIONS[protocol], list(offer)
    found: list[int] = []
    while remaining and len(found) < max_suites:
        flight = await send_hello(connect, version, remaining, server_hostname, timeout_seconds)
        if flight is None or flight.version != version or flight.cipher_code not in remaining:
            break  # refused, or answered with another version or a suite not offered: nothing more here
        found.append(flight.cipher_code)
        remaining.remove(flight.cipher_code)
    return found
