"""Client simulation: which of a few reference clients would connect, and with what, worked out from the
probe's results (the protocols the server accepts, its suites in its order and whether it imposes that
order, the group or DH size it used with each suite). No handshake of its own: the probe already knows.

The reference clients are abbreviated from their published ClientHellos (SSL Labs' client list and the
clients' own documentation): protocol range, TLS <= 1.2 suites in the client's order (OpenSSL names),
TLS 1.3 suites, supported groups and the DH sizes the client accepts. docs/tls-rating.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.domain.tls_rating import CipherSuite, ClientSimulation, ProtocolSupport, TLSProbe

_NIST = ("prime256v1", "secp384r1", "secp521r1")
_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")


@dataclass(frozen=True)
class ReferenceClient:
    name: str
    protocols: tuple[str, ...]
    suites: tuple[str, ...]  # TLS <= 1.2, the client's order
    groups: tuple[str, ...]
    tls13_suites: tuple[str, ...] = ()
    min_dh_bits: int | None = None  # None: the client offers no DHE suite
    max_dh_bits: int = 16384


REFERENCE_CLIENTS = (
    ReferenceClient(
        "Modern browser (Chrome/Firefox 2024)", ("TLSv1.2", "TLSv1.3"),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
         "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
         "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA",
         "AES256-SHA"),
        ("x25519", *_NIST[:2]), _TLS13),
    ReferenceClient(
        "Android 4.4", ("TLSv1.0", "TLSv1.1", "TLSv1.2"),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256",
         "ECDHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
         "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
         "DHE-RSA-AES128-SHA", "DHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA",
         "AES256-SHA", "ECDHE-RSA-RC4-SHA", "RC4-SHA", "DES-CBC3-SHA"),
        _NIST, min_dh_bits=512, max_dh_bits=4096),
    ReferenceClient(
        "Java 8", ("TLSv1.0", "TLSv1.1", "TLSv1.2"),
        ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "AES128-SHA256", "DHE-RSA-AES128-SHA256",
         "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES128-SHA", "DHE-RSA-AES128-SHA",
         "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256",
         "DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-DES-CBC3-SHA", "DES-CBC3-SHA", "EDH-RSA-DES-CBC3-SHA"),
        _NIST, min_dh_bits=1024, max_dh_bits=2048),  # JDK 8 cannot do DH over 2048 bits
    ReferenceClient(
        "OpenSSL 1.0.2", ("TLSv1.0", "TLSv1.1", "TLSv1.2"),
        ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-SHA384",
         "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA", "DHE-RSA-AES256-GCM-SHA384",
         "DHE-RSA-AES256-SHA256", "DHE-RSA-AES256-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA",
         "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA256",
         "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256",
         "DHE-RSA-AES128-SHA256", "DHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA",
         "ECDHE-RSA-DES-CBC3-SHA", "EDH-RSA-DES-CBC3-SHA", "DES-CBC3-SHA", "RC4-SHA"),
        _NIST, min_dh_bits=768),  # 1.0.2b refuses DH under 768 bits (Logjam)
)


def _choose(support: ProtocolSupport, offered: tuple[str, ...]) -> CipherSuite | None:
    """The suite the server picks from `offered`: by its own order if it imposes one, else the client's."""
    accepted = {suite.name: suite for suite in support.ciphers}
    if support.server_preference:
        return next((suite for suite in support.ciphers if suite.name in offered), None)
    return next((accepted[name] for name in offered if name in accepted), None)


def simulate(client: ReferenceClient, probe: TLSProbe) -> ClientSimulation:
    accepted = [support for support in probe.accepted() if support.protocol in client.protocols]
    if not accepted:
        return ClientSimulation(client=client.name, reason="no protocol in common")
    support = accepted[-1]  # the server answers with the highest version both speak
    tls13 = support.protocol == "TLSv1.3"
    suite = _choose(support, client.tls13_suites if tls13 else client.suites)
    if suite is None:
        return ClientSimulation(client=client.name, reason=f"no {support.protocol} suite in common")
    if suite.dh_bits is not None and not tls13:
        if client.min_dh_bits is None or suite.dh_bits < client.min_dh_bits:
            return ClientSimulation(client=client.name, reason=f"refuses the {suite.dh_bits}-bit DH group")
        if suite.dh_bits > client.max_dh_bits:
            return ClientSimulation(client=client.name, reason=f"cannot do a {suite.dh_bits}-bit DH group")
    group = suite.group if suite.group in client.groups else None  # the server may pick another it shares
    return ClientSimulation(client=client.name, protocol=support.protocol, cipher=suite.name,
                            forward_secrecy=suite.forward_secrecy, group=group)


def simulate_clients(probe: TLSProbe) -> list[ClientSimulation]:
    return [simulate(client, probe) for client in REFERENCE_CLIENTS]
