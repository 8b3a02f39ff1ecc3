"""The TLS grade, after the SSL Labs server rating guide (2009 scoring with its later caps), from a probe.

Score: protocol support 30 %, key exchange 30 %, cipher strength 40 % (each the mean of the best and the
worst thing the server accepts); 80+ is A, 65+ B, 50+ C, 35+ D, 20+ E, below F. Then caps: the grade is
the worst of the score's letter and every cap that applies. A certificate browsers would not trust makes
the grade T (one naming another host, M), with the grade the configuration would otherwise have beside it.
A+ is an A without any cap on a site sending HSTS for at least 180 days. docs/tls-rating.md lists each rule.
"""

from __future__ import annotations

from datetime import UTC, datetime

from techscaniq.domain.security import SecurityFinding
from techscaniq.domain.tls_rating import CipherSuite, TLSCap, TLSProbe, TLSRating
from techscaniq.scanning.security.tls_clients import simulate_clients

CATEGORY = "tls"
LETTERS = ("A+", "A", "A-", "B", "C", "D", "E", "F")
PROTOCOL_POINTS = {"SSLv2": 0, "SSLv3": 80, "TLSv1.0": 90, "TLSv1.1": 95, "TLSv1.2": 100, "TLSv1.3": 100}
MAX_LIFETIME_DAYS = 398  # CA/Browser Forum limit for certificates issued since 2020-09-01
_LIFETIME_RULE_FROM = datetime(2020, 9, 1, tzinfo=UTC)
HSTS_A_PLUS_SECONDS = 180 * 86400
# Ephemeral groups and EC keys as RSA-equivalent bits (NIST SP 800-57), which the key-exchange table is in.
_GROUP_RSA_BITS = {"prime192v1": 1024, "secp224r1": 2048,
                   "x25519": 3072, "prime256v1": 3072, "secp256r1": 3072, "p-256": 3072, "secp384r1": 7680,
                   "p-384": 7680, "x448": 7680, "secp521r1": 15360, "p-521": 15360, "ffdhe2048": 2048,
                   "ffdhe3072": 3072, "ffdhe4096": 4096, "ffdhe6144": 6144, "ffdhe8192": 8192}


def _key_exchange_points(bits: int) -> int:
    for limit, points in ((1, 0), (512, 20), (1024, 40), (2048, 80), (4096, 90)):
        if bits < limit:
            return points
    return 100


def _cipher_points(bits: int) -> int:
    for limit, points in ((1, 0), (128, 20), (256, 80)):
        if bits < limit:
            return points
    return 100


def _letter(score: int) -> str:
    for floor, letter in ((80, "A"), (65, "B"), (50, "C"), (35, "D"), (20, "E")):
        if score >= floor:
            return letter
    return "F"


def rsa_equivalent(key_type: str, bits: int) -> int:
    if key_type == "EC":
        for floor, equivalent in ((512, 15360), (384, 7680), (256, 3072), (224, 2048), (160, 1024)):
            if bits >= floor:
                return equivalent
        return 512
    if key_type == "Ed25519":
        return 3072
    if key_type == "Ed448":
        return 7680
    return bits


def _anonymous(suite: CipherSuite) -> bool:
    return suite.name.startswith(("ADH-", "AECDH-")) or "-anon-" in suite.name


def _weak_block(suite: CipherSuite) -> bool:
    return any(name in suite.name for name in ("DES-CBC3", "3DES", "IDEA", "DES-CBC-", "RC2"))


def _suites(probe: TLSProbe) -> list[tuple[str, CipherSuite]]:
    return [(support.protocol, suite) for support in probe.accepted() for suite in support.ciphers]


def _dh_bits(probe: TLSProbe) -> int | None:
    """The smallest ephemeral DH group the server used with any suite (Logjam's concern), in bits."""
    sizes = [suite.dh_bits for _, suite in _suites(probe) if suite.dh_bits]
    return min(sizes) if sizes else None


def key_exchange_bits(probe: TLSProbe) -> int:
    """The weakest key exchange the server does, in RSA-equivalent bits: the certificate key (RSA key
    transport; it also signs the ephemeral key) and every ephemeral group seen with an accepted suite."""
    certificate = probe.certificate
    assert certificate is not None
    if any(_anonymous(suite) for _, suite in _suites(probe)):
        return 0
    bits = [rsa_equivalent(certificate.key_type, certificate.key_bits)]
    groups = [probe.negotiated_group, *(suite.group for _, suite in _suites(probe))]
    bits += [_GROUP_RSA_BITS[name.lower()] for name in groups if name and name.lower() in _GROUP_RSA_BITS]
    dh = _dh_bits(probe)
    if dh is not None:
        bits.append(dh)
    return min(bits)


def rate(probe: TLSProbe, *, hsts_max_age: int | None = None, cached: bool = False) -> TLSRating | None:
    """None when no handshake succeeded (nothing to rate)."""
    accepted = [support.protocol for support in probe.accepted()]
    suites = _suites(probe)
    certificate = probe.certificate
    if not accepted or not suites or certificate is None:
        return None
    points = [PROTOCOL_POINTS[name] for name in accepted]
    protocol_score = (max(points) + min(points)) // 2
    anonymous = any(_anonymous(suite) for _, suite in suites)
    exchange_bits = key_exchange_bits(probe)
    key_exchange_score = _key_exchange_points(exchange_bits)
    bits = [suite.bits for _, suite in suites]
    cipher_score = (_cipher_points(max(bits)) + _cipher_points(min(bits))) // 2
    score = round(0.3 * protocol_score + 0.3 * key_exchange_score + 0.4 * cipher_score)

    caps: list[TLSCap] = []

    def cap(grade: str, reason: str) -> None:
        caps.append(TLSCap(grade=grade, reason=reason))

    names = [suite.name for _, suite in suites]
    modern = next((suite for _, suite in suites if suite.name == probe.negotiated_cipher), None)
    if "SSLv2" in accepted:
        cap("F", "SSL 2.0 is accepted")
    if anonymous:
        cap("F", "anonymous (unauthenticated) suites are accepted")
    if any("NULL" in name for name in names):
        cap("F", "suites without encryption (NULL) are accepted")
    if any(name.startswith("EXP") for name in names):
        cap("F", "export suites are accepted")
    if certificate.key_type in ("RSA", "DSA") and certificate.key_bits < 1024:
        cap("F", f"the certificate key is {certificate.key_type} {certificate.key_bits} bits (under 1024)")
    if certificate.signature_hash in ("md5", "md2"):
        cap("F", f"the certificate is signed with {certificate.signature_hash.upper()}")
    dh_bits = _dh_bits(probe)
    if dh_bits is not None and dh_bits < 1024:
        cap("F", f"DHE suites use a {dh_bits}-bit DH group (under 1024: Logjam)")
    if "SSLv3" in accepted:
        cap("C", "SSL 3.0 is accepted (POODLE)")
    if "TLSv1.2" not in accepted and "TLSv1.3" not in accepted:
        cap("C", "neither TLS 1.2 nor TLS 1.3 is accepted")
    if modern is not None and probe.negotiated_protocol in ("TLSv1.1", "TLSv1.2") and (
            "RC4" in modern.name or _weak_block(modern)):
        cap("C", f"a modern client negotiates {modern.name} (RC4 or a 64-bit block cipher) with TLS 1.1+")
    if any("RC4" in name for name in names):
        cap("B", "RC4 suites are accepted")
    if "TLSv1.0" in accepted or "TLSv1.1" in accepted:
        cap("B", "TLS 1.0 or TLS 1.1 is accepted")
    if modern is not None and not modern.forward_secrecy:
        cap("B", f"no forward secrecy: a modern client negotiates {modern.name}")
    if modern is not None and not modern.aead:
        cap("B", f"no authenticated encryption (AEAD): a modern client negotiates {modern.name}")
    if certificate.key_type in ("RSA", "DSA") and 1024 <= certificate.key_bits < 2048:
        cap("B", f"the certificate key is {certificate.key_type} {certificate.key_bits} bits (under 2048)")
    if not certificate.chain_complete:
        cap("B", "the certificate chain is incomplete (an intermediate certificate is not sent)")
    if dh_bits is not None and 1024 <= dh_bits < 2048:
        cap("B", f"DHE suites use a weak {dh_bits}-bit DH group (under 2048)")
    if probe.secure_renegotiation is False:
        cap("A-", "secure renegotiation (RFC 5746) is not supported")

    grade = _letter(score)
    for item in caps:
        grade = max(grade, item.grade, key=LETTERS.index)
    if grade == "A" and not caps and hsts_max_age is not None and hsts_max_age >= HSTS_A_PLUS_SECONDS:
        grade = "A+"
    trust = _trust_problem(probe)
    ignoring_trust = None
    if trust is not None:
        ignoring_trust, grade = grade, trust[0]
        cap(trust[0], trust[1])
    return TLSRating(grade=grade, score=score, protocol_score=protocol_score, key_exchange_score=key_exchange_score,
                     cipher_score=cipher_score, caps=caps, grade_ignoring_trust=ignoring_trust, probe=probe,
                     cached=cached, key_exchange_bits=exchange_bits, clients=simulate_clients(probe))


def lifetime_too_long(probe: TLSProbe) -> bool:
    certificate = probe.certificate
    return (certificate is not None and certificate.not_before >= _LIFETIME_RULE_FROM
            and certificate.lifetime_days > MAX_LIFETIME_DAYS)


def _trust_problem(probe: TLSProbe) -> tuple[str, str] | None:
    certificate = probe.certificate
    assert certificate is not None
    if not certificate.trusted:
        return "T", f"the certificate is not trusted: {certificate.trust_error}"
    if certificate.days_to_expiry < 0:
        return "T", "the certificate has expired"
    if lifetime_too_long(probe):
        return "T", (f"the certificate is valid for {certificate.lifetime_days:.0f} days; browsers refuse more "
                     f"than {MAX_LIFETIME_DAYS} for certificates issued since 2020-09-01")
    if not certificate.hostname_match:
        return "M", "the certificate does not name this host"
    return None


def _finding(test: str, result: str, passed: bool, description: str, severity: str | None = None,
             value: str | None = None, **data: object) -> SecurityFinding:
    return SecurityFinding(test=test, result=result, passed=passed, description=description, category=CATEGORY,
                           severity=None if passed else severity, value=value, data=dict(data))


_GRADE_SEVERITY = {"A-": "low", "B": "medium", "C": "high", "D": "high", "E": "high"}


def rating_findings(rating: TLSRating) -> list[SecurityFinding]:
    probe, certificate = rating.probe, rating.probe.certificate
    assert certificate is not None
    found = [_finding(
        "tls-rating", f"tls-rating-{rating.grade.lower().replace('+', '-plus')}", rating.grade in ("A+", "A"),
        f"TLS rated {rating.grade} (score {rating.score})" + (f": {rating.caps[0].reason}" if rating.caps else ""),
        _GRADE_SEVERITY.get(rating.grade, "critical"), rating.grade, score=rating.score,
        caps=[item.model_dump() for item in rating.caps], grade_ignoring_trust=rating.grade_ignoring_trust)]
    for support in probe.protocols:
        deprecated = support.protocol in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
        offered = support.outcome == "accepted"
        outcome = support.outcome.replace("_", "-")
        result = {"accepted": "offered", "rejected": "not-offered"}.get(support.outcome, outcome)
        severity = "critical" if support.protocol.startswith("SSL") else "high"
        found.append(_finding(
            f"tls-protocol-{support.protocol.lower()}", f"tls-protocol-{result}", not (deprecated and offered),
            f"{support.protocol}: {outcome}" + (f" ({support.detail})" if support.detail else ""),
            severity, support.protocol, suites=[suite.name for suite in support.ciphers],
            server_preference=support.server_preference))
    suites = _suites(probe)
    modern = next((suite for _, suite in suites if suite.name == probe.negotiated_cipher), None)
    if modern is not None:
        found.append(_finding("tls-forward-secrecy", "tls-forward-secrecy" if modern.forward_secrecy
                              else "tls-no-forward-secrecy", modern.forward_secrecy,
                              f"A modern client negotiates {modern.name}", "high", modern.name))
        found.append(_finding("tls-aead", "tls-aead" if modern.aead else "tls-no-aead", modern.aead,
                              f"A modern client negotiates {modern.name}", "medium", modern.name))
    weak = sorted({suite.name for _, suite in suites
                   if suite.bits < 128 or "RC4" in suite.name or "NULL" in suite.name or _anonymous(suite)
                   or _weak_block(suite) or suite.name.startswith("EXP")})
    found.append(_finding("tls-weak-ciphers", "tls-weak-ciphers-accepted" if weak else "tls-no-weak-ciphers",
                          not weak, f"Weak suites accepted: {', '.join(weak[:10])}" if weak
                          else "No RC4, 3DES/64-bit, NULL, export or anonymous suites accepted", "high",
                          ", ".join(weak[:20]) or None, suites=weak[:50]))
    exchanges = sorted({f"{suite.name}: " + (f"DH {suite.dh_bits}" if suite.dh_bits else suite.group or "?")
                        for _, suite in suites if suite.dh_bits or suite.group})
    dh_bits = _dh_bits(probe)
    weak_dh = dh_bits is not None and dh_bits < 2048
    found.append(_finding("tls-key-exchange", "tls-key-exchange-weak-dh" if weak_dh else "tls-key-exchange-strong",
                          not weak_dh, f"DHE suites use a {dh_bits}-bit DH group" if weak_dh
                          else f"Weakest key exchange: {rating.key_exchange_bits} RSA-equivalent bits",
                          "critical" if dh_bits is not None and dh_bits < 1024 else "high",
                          f"DH {dh_bits}" if dh_bits else None, bits=rating.key_exchange_bits, dh_bits=dh_bits,
                          groups=exchanges[:50]))
    if probe.secure_renegotiation is not None:
        secure = probe.secure_renegotiation
        found.append(_finding("tls-secure-renegotiation", "tls-secure-renegotiation-supported" if secure
                              else "tls-secure-renegotiation-not-supported", secure,
                              "The server supports secure renegotiation (RFC 5746)" if secure
                              else "The server does not send renegotiation_info (RFC 5746)", "medium"))
    found.append(_finding("tls-client-simulation", "tls-clients-all-connect"
                          if all(client.protocol for client in rating.clients) else "tls-clients-some-fail",
                          all(client.protocol for client in rating.clients),
                          "; ".join(f"{client.client}: {client.protocol} {client.cipher}" if client.protocol
                                    else f"{client.client}: fails ({client.reason})" for client in rating.clients),
                          "low", clients=[client.model_dump() for client in rating.clients]))
    key = f"{certificate.key_type} {certificate.key_bits}" + (f" ({certificate.curve})" if certificate.curve else "")
    strong_key = rsa_equivalent(certificate.key_type, certificate.key_bits) >= 2048
    found.append(_finding("tls-key-strength", "tls-key-strong" if strong_key else "tls-key-weak", strong_key,
                          f"Certificate key {key}", "critical" if certificate.key_bits < 1024 else "high", key))
    weak_signature = certificate.signature_hash in ("sha1", "md5", "md2")
    found.append(_finding("tls-signature-algorithm", "tls-signature-weak" if weak_signature else "tls-signature-strong",
                          not weak_signature, f"Certificate signed with {certificate.signature_algorithm}",
                          "high", certificate.signature_algorithm))
    too_long = lifetime_too_long(probe)
    found.append(_finding("tls-certificate-lifetime", "tls-certificate-lifetime-over-398-days" if too_long
                          else "tls-certificate-lifetime-ok", not too_long,
                          f"Certificate valid for {certificate.lifetime_days:.0f} days"
                          + (f" (browsers refuse more than {MAX_LIFETIME_DAYS})" if too_long else ""),
                          "high", f"{certificate.lifetime_days:.0f}", days=certificate.lifetime_days))
    chain: tuple[str, bool, str, str | None]
    if not certificate.chain_complete:
        chain = ("tls-chain-incomplete", False, "The server does not send the intermediate certificate"
                 + (f" (browsers may fetch it from {certificate.missing_issuer_url})"
                    if certificate.missing_issuer_url else ""), "high")
    elif not certificate.chain_in_order:
        chain = ("tls-chain-out-of-order", False, "The certificates are not sent in issuance order", "low")
    else:
        chain = ("tls-chain-complete", True, "The server sends a complete chain in order", None)
    found.append(_finding("tls-chain", chain[0], chain[1], chain[2], chain[3],
                          str(len(certificate.sent)), sent=[item.model_dump() for item in certificate.sent]))
    found.append(_finding("tls-ocsp-stapling", "tls-ocsp-stapled" if certificate.ocsp_stapled
                          else "tls-ocsp-not-stapled", certificate.ocsp_stapled,
                          "The server staples an OCSP response" if certificate.ocsp_stapled
                          else "The server does not staple an OCSP response", "low"))
    return found
