"""What the certificates a server sent say: key, signature, lifetime, chain completeness and order, trust.

Trust comes from OpenSSL's verification during the probe's handshake (system store plus the extra CA
bundle). The probe does not download missing intermediates (AIA), which browsers do: a chain whose only
fault is a missing intermediate with an AIA address is "incomplete" (capped at B, like SSL Labs rates it),
not "untrusted".
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID

from techscaniq.domain.tls_rating import CertificateFacts, SentCertificate
from techscaniq.scanning.tls_facts import hostname_matches

# X509_V_ERR_* numbers (OpenSSL's x509_vfy.h) the rating tells apart.
_ISSUER_MISSING = {2, 20, 21}  # unable to get issuer certificate (locally) / verify the leaf signature
_VERIFY_ERRORS = {
    2: "unable to get issuer certificate", 9: "certificate is not yet valid", 10: "certificate has expired",
    18: "self-signed certificate", 19: "self-signed certificate in the chain",
    20: "unable to get local issuer certificate", 21: "unable to verify the first certificate",
    23: "certificate revoked", 26: "unsupported certificate purpose", 7: "certificate signature failure",
}


def key_facts(certificate: x509.Certificate) -> tuple[str, int, str | None]:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return type(key).__name__, 0, None


def _signature(certificate: x509.Certificate) -> tuple[str, str | None]:
    oid = certificate.signature_algorithm_oid
    name = getattr(oid, "_name", None) or oid.dotted_string
    try:
        algorithm = certificate.signature_hash_algorithm
    except Exception:  # an algorithm cryptography does not know: the name still says it
        algorithm = None
    return name, algorithm.name if algorithm is not None else None


def _issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    return child.issuer == parent.subject


def _self_issued(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


def _ca_issuers_url(certificate: x509.Certificate) -> str | None:
    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        if description.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            return str(description.access_location.value)
    return None


def certificate_facts(chain: list[x509.Certificate], verify_errors: list[tuple[int, int]], hostname: str,
                      *, ocsp_stapled: bool, now: datetime | None = None) -> CertificateFacts:
    """`chain` as sent (leaf first); `verify_errors` as OpenSSL reported them for that handshake."""
    now = now or datetime.now(UTC)
    leaf = chain[0]
    key_type, key_bits, curve = key_facts(leaf)
    signature, signature_hash = _signature(leaf)
    in_order = all(_issued(chain[index], chain[index + 1]) for index in range(len(chain) - 1))
    # The issuance path through what was sent, whatever its order, from the leaf up.
    path, pool = [leaf], list(chain[1:])
    while not _self_issued(path[-1]):
        parent = next((cert for cert in pool if _issued(path[-1], cert)), None)
        if parent is None:
            break
        path.append(parent)
        pool.remove(parent)
    errors = {number for number, _depth in verify_errors}
    top = path[-1]
    # Complete: the path ends at a root, or at a certificate the trust store's root signed (verified).
    complete = _self_issued(top) or not (errors & _ISSUER_MISSING)
    missing_url = None if complete else _ca_issuers_url(top)
    if signature_hash in ("sha1", "md5", "md2"):
        # Browsers refuse SHA-1 (and worse) signatures on server certificates; OpenSSL at level 0 does not.
        errors.add(-1)
    lifetime = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds() / 86400
    trust_errors = errors - (_ISSUER_MISSING if missing_url else set())
    reasons = [_VERIFY_ERRORS.get(number, "weak signature algorithm" if number == -1 else f"verify error {number}")
               for number in sorted(trust_errors)]
    return CertificateFacts(
        key_type=key_type, key_bits=key_bits, curve=curve, signature_algorithm=signature,
        signature_hash=signature_hash, not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc,
        lifetime_days=round(lifetime, 1),
        days_to_expiry=round((leaf.not_valid_after_utc - now).total_seconds() / 86400, 2),
        sent=[SentCertificate(subject=cert.subject.rfc4514_string()[:300], issuer=cert.issuer.rfc4514_string()[:300])
              for cert in chain[:10]],
        chain_complete=complete, chain_in_order=in_order, anchor_sent=any(_self_issued(cert) for cert in chain[1:]),
        missing_issuer_url=missing_url, trusted=not trust_errors,
        trust_error="; ".join(reasons) or None, hostname_match=hostname_matches(leaf, hostname),
        ocsp_stapled=ocsp_stapled,
    )
