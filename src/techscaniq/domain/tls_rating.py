"""The TLS rating of a server: what the probe found (protocols, suites, certificate) and the grade."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CipherSuite(BaseModel):
    name: str  # OpenSSL's name, e.g. ECDHE-RSA-AES128-GCM-SHA256 or TLS_AES_128_GCM_SHA256
    bits: int
    forward_secrecy: bool
    aead: bool
    # The ephemeral key exchange the server used with this suite: a named group (x25519, prime256v1,
    # ffdhe2048) or, for DHE with its own parameters, the size of its prime.
    group: str | None = None
    dh_bits: int | None = None


class ProtocolSupport(BaseModel):
    protocol: str  # SSLv2, SSLv3, TLSv1.0 .. TLSv1.3
    outcome: str  # accepted | rejected | not_testable | unreachable
    detail: str = ""
    ciphers: list[CipherSuite] = Field(default_factory=list)  # the server's order when it has a preference
    server_preference: bool | None = None  # None: fewer than two suites, nothing to prefer
    ciphers_truncated: bool = False  # the probe stopped at its bound; more suites may be accepted


class SentCertificate(BaseModel):
    subject: str
    issuer: str


class CertificateFacts(BaseModel):
    key_type: str  # RSA, EC, Ed25519, Ed448, DSA
    key_bits: int
    curve: str | None = None
    signature_algorithm: str
    signature_hash: str | None = None  # sha256, sha1, md5; None for Ed25519/Ed448
    not_before: datetime
    not_after: datetime
    lifetime_days: float
    days_to_expiry: float
    sent: list[SentCertificate] = Field(default_factory=list)  # as the server sent them, leaf first
    chain_complete: bool
    chain_in_order: bool
    anchor_sent: bool = False
    missing_issuer_url: str | None = None  # AIA caIssuers of the last certificate sent, when its issuer is missing
    trusted: bool
    trust_error: str | None = None
    hostname_match: bool
    ocsp_stapled: bool


class TLSProbe(BaseModel):
    host: str
    port: int
    address: str | None = None
    probed_at: datetime
    protocols: list[ProtocolSupport] = Field(default_factory=list)
    # What a modern client (this OpenSSL offering everything, best first) negotiates.
    negotiated_protocol: str | None = None
    negotiated_cipher: str | None = None
    negotiated_group: str | None = None
    # Every TLS <= 1.2 ServerHello carried RFC 5746 renegotiation_info (None: no such handshake).
    secure_renegotiation: bool | None = None
    certificate: CertificateFacts | None = None
    handshakes: int = 0
    error: str | None = None

    def support(self, protocol: str) -> ProtocolSupport | None:
        return next((item for item in self.protocols if item.protocol == protocol), None)

    def accepted(self) -> list[ProtocolSupport]:
        return [item for item in self.protocols if item.outcome == "accepted"]


class ClientSimulation(BaseModel):
    """What a reference client would negotiate, worked out from the probe (no handshake of its own)."""

    client: str
    protocol: str | None = None  # None: no protocol and suite in common, the client cannot connect
    cipher: str | None = None
    forward_secrecy: bool | None = None
    group: str | None = None  # the group seen with that suite, when the client supports it
    reason: str | None = None  # why it cannot connect


class TLSCap(BaseModel):
    grade: str
    reason: str


class TLSRating(BaseModel):
    grade: str  # A+, A, A-, B, C, D, E, F; T (certificate not trusted), M (certificate names another host)
    score: int
    protocol_score: int
    key_exchange_score: int
    cipher_score: int
    caps: list[TLSCap] = Field(default_factory=list)
    grade_ignoring_trust: str | None = None  # with T or M: the grade the configuration would have
    probe: TLSProbe
    cached: bool = False  # the probe is from the per-origin cache, not from this scan
    key_exchange_bits: int | None = None  # the weakest key exchange seen, in RSA-equivalent bits
    clients: list[ClientSimulation] = Field(default_factory=list)

