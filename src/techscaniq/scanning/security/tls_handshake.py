"""One bounded TLS handshake with a chosen protocol and cipher list, for rating a server's TLS.

pyOpenSSL (Apache-2.0) rather than `ssl`: it gives the certificates exactly as the server sent them,
the verified chain, the key-exchange group, OCSP stapling and TLS 1.3 cipher-suite choice. It runs on
memory BIOs over a socket the caller connected through the address guard, so the handshake is plain
asyncio I/O under one deadline (no thread, nothing blocking the event loop; a slow server just times out).
The client side offers everything this OpenSSL can (security level 0): a weak server must be rated,
not refused.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from techscaniq.scanning.security.sites import is_ip_literal
from techscaniq.scanning.security.tls_server_flight import MAX_KEPT, ServerFlight, read_server_flight

# Labels as the rating shows them -> pyOpenSSL's version constants. SSLv2 is gone from every OpenSSL
# since 1.1.0, so it has no constant: it is always "not testable".
PROTOCOL_VERSIONS: dict[str, int] = {
    "SSLv3": SSL.SSL3_VERSION, "TLSv1.0": SSL.TLS1_VERSION, "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION,
}
PROTOCOLS = ("SSLv2", *PROTOCOL_VERSIONS)
ALL_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
                "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")
# Raised before anything is sent: our side has nothing to offer. ("unsupported protocol" and the like come
# after the server answered with a version we did not offer: that is the server refusing ours.)
_LOCAL_REFUSALS = ("no protocols available", "no ciphers available", "no cipher match")
_READ_SIZE = 65536
_LEGACY_SERVER_CONNECT: int = getattr(SSL, "OP_LEGACY_SERVER_CONNECT", 0x4)  # not in pyOpenSSL's type stubs


class NotTestable(Exception):
    """This OpenSSL cannot offer what was asked: says nothing about the server."""


class Refused(Exception):
    """The server turned the handshake down (alert, reset, close)."""


@dataclass
class Handshake:
    protocol: str
    cipher: str
    cipher_bits: int
    group: str | None
    chain: list[x509.Certificate]  # as the server sent it, leaf first
    verify_errors: list[tuple[int, int]] = field(default_factory=list)  # (X509 error number, depth)
    verified_chain: list[x509.Certificate] = field(default_factory=list)
    ocsp_stapled: bool = False
    flight: ServerFlight = field(default_factory=ServerFlight)  # what the server sent in the clear


@dataclass
class _Notes:
    """What the callbacks saw during one handshake."""

    verify_errors: list[tuple[int, int]] = field(default_factory=list)
    ocsp: bytes = b""


def _verify(connection: SSL.Connection, _cert: object, errno: int, depth: int, ok: int) -> bool:
    if not ok:
        notes: _Notes = connection.get_app_data()
        notes.verify_errors.append((errno, depth))
    return True  # note the error and go on: the rating wants the whole handshake either way


def _ocsp(connection: SSL.Connection, response: bytes, _data: object) -> bool:
    notes: _Notes = connection.get_app_data()
    notes.ocsp = response or b""
    return True


def client_context(protocol: str | None, ciphers: str = ALL_CIPHERS, tls13_suites: tuple[str, ...] = (),
                   ca_file: str | None = None, *, verify: bool = True) -> SSL.Context:
    """A client context pinned to `protocol` (None: any this OpenSSL has), offering `ciphers` in order.
    `verify`: note the chain's verification errors (loading the trust store costs ~50 ms, so the probe asks
    for it only on the handshakes whose certificate it reads). Raises NotTestable when this OpenSSL cannot
    offer that protocol or any of those ciphers."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # OpenSSL 3+ refuses servers without RFC 5746 renegotiation_info; such a server must be rated, not lost.
    context.set_options(_LEGACY_SERVER_CONNECT)
    try:
        if protocol is not None:
            if protocol not in PROTOCOL_VERSIONS:
                raise NotTestable(f"this OpenSSL ({SSL.SSLeay_version(SSL.SSLEAY_VERSION).decode()}) "
                                  f"cannot offer {protocol}")
            context.set_min_proto_version(PROTOCOL_VERSIONS[protocol])
            context.set_max_proto_version(PROTOCOL_VERSIONS[protocol])
        else:
            context.set_min_proto_version(SSL.TLS1_VERSION)
        context.set_cipher_list(ciphers.encode("ascii"))
        if tls13_suites:
            context.set_tls13_ciphersuites(":".join(tls13_suites).encode("ascii"))
    except SSL.Error as exc:
        raise NotTestable(f"this OpenSSL cannot offer {protocol or 'TLS'} with these suites: "
                          f"{_reason(exc) or 'not built in'}") from None
    if verify:
        context.set_default_verify_paths()
        if ca_file:
            context.load_verify_locations(ca_file)
        context.set_verify(SSL.VERIFY_PEER, _verify)
    context.set_ocsp_client_callback(_ocsp)
    return context


async def handshake(sock: socket.socket, context: SSL.Context, server_hostname: str | None,
                    timeout_seconds: float) -> Handshake:
    """Run one handshake over the connected non-blocking `sock` (the caller closes it)."""
    notes = _Notes()
    connection = SSL.Connection(context, None)
    connection.set_app_data(notes)
    connection.set_connect_state()
    if server_hostname and not is_ip_literal(server_hostname):
        connection.set_tlsext_host_name(server_hostname.encode("idna"))
    connection.request_ocsp()
    loop = asyncio.get_running_loop()
    received = bytearray()  # the server's first flight, kept to read what OpenSSL does not tell
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                try:
                    connection.do_handshake()
                    done = True
                except SSL.WantReadError:
                    done = False
                await _flush(connection, sock, loop)
                if done:
                    break
                data = await loop.sock_recv(sock, _READ_SIZE)
                if not data:
                    raise Refused("the server closed the connection during the handshake")
                if len(received) < MAX_KEPT:
                    received += data[:MAX_KEPT - len(received)]
                connection.bio_write(data)
    except SSL.Error as exc:
        reason = _reason(exc)
        if any(local in reason.lower() for local in _LOCAL_REFUSALS) and "alert" not in reason.lower():
            raise NotTestable(reason) from None
        raise Refused(reason) from None
    except (ConnectionResetError, BrokenPipeError):
        raise Refused("connection reset during the handshake") from None
    chain = [cert.to_cryptography() for cert in connection.get_peer_cert_chain() or []]
    verified = [cert.to_cryptography() for cert in connection.get_verified_chain() or []]
    cipher = connection.get_cipher_name() or ""
    return Handshake(
        protocol=_label(connection.get_protocol_version_name()), cipher=cipher,
        cipher_bits=connection.get_cipher_bits() or 0, group=connection.get_group_name(), chain=chain,
        verify_errors=notes.verify_errors, verified_chain=verified, ocsp_stapled=bool(notes.ocsp),
        flight=read_server_flight(bytes(received), cipher=cipher),
    )


async def _flush(connection: SSL.Connection, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
    while True:
        try:
            data = connection.bio_read(_READ_SIZE)
        except SSL.WantReadError:
            return
        if not data:
            return
        await loop.sock_sendall(sock, data)


def _reason(exc: SSL.Error) -> str:
    """OpenSSL's error queue as one line (the reason strings, e.g. 'tlsv1 alert protocol version')."""
    if exc.args and isinstance(exc.args[0], list):
        return "; ".join(str(item[-1]) for item in exc.args[0] if item and item[-1])
    return str(exc) or type(exc).__name__


def _label(version: str) -> str:
    return "TLSv1.0" if version == "TLSv1" else version


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)
