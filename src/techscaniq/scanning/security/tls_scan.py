"""Probe a server's TLS: each protocol SSLv3..TLS 1.3 on its own handshake, the suites it accepts per
protocol and whether it imposes its own order, and the certificate it sends.

Bounded: every handshake has its own timeout, at most `concurrency` run at once, a protocol's suites
are enumerated by at most `max_suites` handshakes (offer everything, take out what the server chose,
repeat), and the whole probe has a deadline. Every connection comes from `connect`, which the caller
routes through the address guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from OpenSSL import SSL

from techscaniq.domain.tls_rating import CipherSuite, ProtocolSupport, TLSProbe
from techscaniq.scanning.security.tls_certificate import certificate_facts
from techscaniq.scanning.security.tls_handshake import (
    ALL_CIPHERS,
    PROTOCOL_VERSIONS,
    PROTOCOLS,
    TLS13_SUITES,
    Handshake,
    NotTestable,
    Refused,
    client_context,
    handshake,
)
from techscaniq.scanning.security.tls_raw_hello import LEGACY_SUITES, SSLV3_SUITES, accepted_suites
from techscaniq.scanning.security.tls_server_flight import RENEGOTIATION_INFO

Connect = Callable[[], Awaitable[socket.socket]]


@dataclass
class ProbeLimits:
    handshake_timeout: float = 5.0
    concurrency: int = 4
    max_suites: int = 24  # per protocol; a real server accepts 5 to 30
    deadline: float = 60.0


def classify(name: str, bits: int, *, group: str | None = None, dh_bits: int | None = None) -> CipherSuite:
    tls13 = name.startswith("TLS_")
    forward = tls13 or name.startswith(("ECDHE-", "DHE-", "EDH-"))
    aead = tls13 or any(mode in name for mode in ("GCM", "CHACHA20", "CCM"))
    return CipherSuite(name=name, bits=bits, forward_secrecy=forward, aead=aead, group=group, dh_bits=dh_bits)


def _suite(found: Handshake) -> CipherSuite:
    """The suite with the key exchange the server used for it (OpenSSL names no group for DHE with the
    server's own parameters: the size of its prime comes from the ServerKeyExchange)."""
    return classify(found.cipher, found.cipher_bits, group=found.group or found.flight.curve,
                    dh_bits=found.flight.dh_bits)


def _legacy_suites() -> list[str]:
    """Every TLS <= 1.2 suite this OpenSSL knows, in its default preference (strongest first)."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_cipher_list(ALL_CIPHERS.encode())
    connection = SSL.Connection(context, None)
    return [name for name in connection.get_cipher_list() if not name.startswith("TLS_")]


@dataclass
class _Run:
    connect: Connect
    server_hostname: str | None
    ca_file: str | None
    limits: ProbeLimits
    slots: asyncio.Semaphore
    handshakes: int = 0
    renegotiation_info: list[bool] = field(default_factory=list)  # per TLS <= 1.2 handshake

    async def attempt(self, protocol: str | None, ciphers: list[str] | None = None,
                      suites: tuple[str, ...] = (), *, verify: bool = False) -> Handshake:
        cipher_list = (":".join(ciphers) + ":@SECLEVEL=0") if ciphers else ALL_CIPHERS
        if verify:  # loading the trust store reads ~150 files (some 50 ms): not on the event loop
            context = await asyncio.to_thread(client_context, protocol, cipher_list, suites, self.ca_file)
        else:
            context = client_context(protocol, cipher_list, suites, self.ca_file, verify=False)
        async with self.slots:
            self.handshakes += 1
            sock = await asyncio.wait_for(self.connect(), self.limits.handshake_timeout)
            try:
                return await handshake(sock, context, self.server_hostname, self.limits.handshake_timeout)
            finally:
                sock.close()

    async def protocol(self, protocol: str) -> ProtocolSupport:
        if protocol not in PROTOCOL_VERSIONS:
            return ProtocolSupport(protocol=protocol, outcome="not_testable",
                                   detail=f"{SSL.SSLeay_version(SSL.SSLEAY_VERSION).decode()} cannot offer it")
        tls13 = protocol == "TLSv1.3"
        remaining = list(TLS13_SUITES) if tls13 else _legacy_suites()
        accepted: list[Handshake] = []
        truncated = False
        while remaining:
            if len(accepted) >= self.limits.max_suites:
                truncated = True
                break
            try:
                if tls13:
                    found = await self.attempt(protocol, suites=tuple(remaining))
                else:
                    found = await self.attempt(protocol, remaining)
            except NotTestable as exc:
                if not accepted and protocol == "SSLv3":
                    return await self._hand_built(protocol)
                if not accepted:
                    return ProtocolSupport(protocol=protocol, outcome="not_testable", detail=str(exc)[:300])
                break  # none of what is left can be offered with this protocol
            except Refused as exc:
                if not accepted and not tls13:  # perhaps only suites this OpenSSL dropped (RC4, 3DES)
                    legacy = await self._legacy(protocol, 0)
                    if legacy:
                        return ProtocolSupport(protocol=protocol, outcome="accepted", ciphers=legacy,
                                               detail="only suites this OpenSSL cannot offer (hand-built hellos)")
                if not accepted:
                    return ProtocolSupport(protocol=protocol, outcome="rejected", detail=str(exc)[:300])
                break
            except (TimeoutError, OSError) as exc:
                if not accepted:
                    return ProtocolSupport(protocol=protocol, outcome="unreachable",
                                           detail=(str(exc) or type(exc).__name__)[:300])
                truncated = True
                break
            if found.cipher not in remaining:  # the server chose what we did not offer: stop, do not loop
                if not accepted:
                    return ProtocolSupport(protocol=protocol, outcome="rejected",
                                           detail=f"the server chose a suite not offered: {found.cipher!r}"[:300])
                break
            accepted.append(found)
            if not tls13:
                self.renegotiation_info.append(RENEGOTIATION_INFO in found.flight.extensions)
            remaining.remove(found.cipher)
        names = [item.cipher for item in accepted]
        preference = await self._preference(protocol, names) if len(names) >= 2 else None
        ciphers = [_suite(item) for item in accepted]
        if not tls13 and not truncated:
            ciphers += await self._legacy(protocol, len(ciphers))
        return ProtocolSupport(protocol=protocol, outcome="accepted", ciphers=ciphers,
                               server_preference=preference, ciphers_truncated=truncated)

    async def _raw(self, protocol: str, offer: dict[int, tuple[str, int]], max_suites: int) -> list[CipherSuite]:
        """Hand-built ClientHellos (tls_raw_hello.py) for what this OpenSSL cannot offer."""
        async def connect() -> socket.socket:
            self.handshakes += 1
            return await self.connect()

        async with self.slots:
            codes = await accepted_suites(connect, protocol, offer, self.server_hostname,
                                          timeout_seconds=self.limits.handshake_timeout, max_suites=max_suites)
        return [classify(*offer[code]) for code in codes]

    async def _legacy(self, protocol: str, found: int) -> list[CipherSuite]:
        """RC4, 3DES, DES, export: suites this OpenSSL dropped, asked for by hand (one hello when refused)."""
        known = set(_legacy_suites())
        offer = {code: suite for code, suite in LEGACY_SUITES.items() if suite[0] not in known}
        if not offer or found >= self.limits.max_suites:
            return []
        with contextlib.suppress(TimeoutError, OSError):
            return await self._raw(protocol, offer, self.limits.max_suites - found)
        return []

    async def _hand_built(self, protocol: str) -> ProtocolSupport:
        """SSL 3.0, which this OpenSSL cannot speak: accepted when the server answers an SSL 3.0 hello."""
        detail = "probed with a hand-built ClientHello (this OpenSSL cannot offer it)"
        try:
            ciphers = await self._raw(protocol, SSLV3_SUITES, self.limits.max_suites)
        except (TimeoutError, OSError) as exc:
            return ProtocolSupport(protocol=protocol, outcome="unreachable",
                                   detail=(str(exc) or type(exc).__name__)[:300])
        if not ciphers:
            return ProtocolSupport(protocol=protocol, outcome="rejected", detail=detail)
        return ProtocolSupport(protocol=protocol, outcome="accepted", detail=detail, ciphers=ciphers)

    async def _preference(self, protocol: str, names: list[str]) -> bool | None:
        """Offer the server's first choice last: a server with its own order still picks it."""
        reversed_offer = [names[-1], names[0]]
        try:
            if protocol == "TLSv1.3":
                found = await self.attempt(protocol, suites=tuple(reversed_offer))
            else:
                found = await self.attempt(protocol, reversed_offer)
        except (NotTestable, Refused, TimeoutError, OSError):
            return None
        return found.cipher == names[0]


async def probe_tls(connect: Connect, host: str, port: int, *, address: str | None, server_hostname: str | None,
                    ca_file: str | None = None, limits: ProbeLimits | None = None) -> TLSProbe:
    limits = limits or ProbeLimits()
    run = _Run(connect, server_hostname, ca_file, limits, asyncio.Semaphore(limits.concurrency))
    probe = TLSProbe(host=host, port=port, address=address, probed_at=datetime.now(UTC))
    reference: Handshake | None = None
    try:
        async with asyncio.timeout(limits.deadline):
            async def modern() -> Handshake | None:
                with contextlib.suppress(NotTestable, Refused, TimeoutError, OSError):
                    return await run.attempt(None, verify=True)
                return None

            reference, supports = await asyncio.gather(
                modern(), asyncio.gather(*(run.protocol(name) for name in PROTOCOLS)))
            probe.protocols = list(supports)
    except TimeoutError:
        probe.error = f"the TLS probe did not finish within {limits.deadline:g} s"
    # The certificate as a modern client sees it; else as the best protocol that worked shows it (verified).
    source = reference
    best = next((support for support in reversed(probe.protocols) if support.ciphers), None)
    if source is None and best is not None:
        with contextlib.suppress(NotTestable, Refused, TimeoutError, OSError):
            names = [suite.name for suite in best.ciphers]
            tls13 = best.protocol == "TLSv1.3"
            source = await run.attempt(best.protocol, None if tls13 else names, tuple(names) if tls13 else (),
                                       verify=True)
    probe.handshakes = run.handshakes
    if run.renegotiation_info:
        probe.secure_renegotiation = all(run.renegotiation_info)
    if reference is not None:
        probe.negotiated_protocol, probe.negotiated_cipher = reference.protocol, reference.cipher
        probe.negotiated_group = reference.group
    if source is not None and source.chain:
        probe.certificate = certificate_facts(source.chain, source.verify_errors, server_hostname or host,
                                              ocsp_stapled=source.ocsp_stapled)
    elif probe.error is None and not probe.accepted():
        probe.error = "no TLS handshake succeeded"
    return probe
