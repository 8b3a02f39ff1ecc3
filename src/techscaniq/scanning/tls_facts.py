"""TLS facts of a connection: protocol, cipher and the server certificate, parsed with cryptography.

When verification fails (expired, self-signed, wrong host) the fetch fails, but the certificate is
exactly what security grading needs, so `probe_certificate` makes a second handshake that does not
verify, only to read it. That probe connects through the same guarded backend as every fetch.
"""

from __future__ import annotations

import ipaddress
import ssl
import warnings
from datetime import UTC, datetime

import httpcore
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from techscaniq.domain.fetch import TLSInfo


def verifying_context(extra_ca_bundle: str | None = None) -> ssl.SSLContext:
    """The system trust store (plus an extra CA bundle when configured), hostname checking on."""
    context = ssl.create_default_context()
    if extra_ca_bundle:
        context.load_verify_locations(cafile=extra_ca_bundle)
    return context


def legacy_floor(context: ssl.SSLContext) -> ssl.SSLContext:
    """Let `context` also speak TLS 1.0/1.1 and the old suites (RSA key exchange, CBC, SHA-1 signatures):
    OpenSSL's level 0, as the only way these handshakes complete. Verification stays as it was."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:!aNULL:!eNULL:@SECLEVEL=0")
    return context


def legacy_verifying_context(extra_ca_bundle: str | None = None) -> ssl.SSLContext:
    """The fetch's fallback when a server speaks only old protocols or suites: still verifies chain and name."""
    return legacy_floor(verifying_context(extra_ca_bundle))


def _probing_context() -> ssl.SSLContext:
    context = legacy_floor(ssl.create_default_context())  # the certificate of an old server too
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_info(ssl_object: ssl.SSLObject | ssl.SSLSocket, hostname: str, *, verified: bool,
             error: str | None = None) -> TLSInfo:
    """Facts of an established TLS session; `verified` says whether the chain and name checked out."""
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    info = certificate_info(der, hostname) if der else TLSInfo()
    info.protocol = ssl_object.version()
    info.cipher = cipher[0] if cipher else None
    info.verified = verified
    info.error = error
    if verified:
        info.hostname_match = True
    return info


def certificate_info(der: bytes, hostname: str) -> TLSInfo:
    cert = x509.load_der_x509_certificate(der)
    organizations = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    not_after = cert.not_valid_after_utc
    return TLSInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        issuer_organization=str(organizations[0].value) if organizations else None,
        sans=_sans(cert),
        serial_number=format(cert.serial_number, "x"),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_before=cert.not_valid_before_utc,
        not_after=not_after,
        days_to_expiry=round((not_after - datetime.now(UTC)).total_seconds() / 86400, 2),
        hostname_match=hostname_matches(cert, hostname),
    )


def _alt_names(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _sans(cert: x509.Certificate) -> list[str]:
    names = _alt_names(cert)
    return [str(name.value) for name in names or [] if isinstance(name, x509.DNSName | x509.IPAddress)]


def hostname_matches(cert: x509.Certificate, hostname: str) -> bool:
    """RFC 6125 as browsers apply it: subjectAltName only, a wildcard covers exactly one left-most label."""
    names = _alt_names(cert)
    if names is None:
        return False
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in names.get_values_for_type(x509.IPAddress)
    host = hostname.rstrip(".").lower()
    for pattern in (name.lower() for name in names.get_values_for_type(x509.DNSName)):
        if pattern == host:
            return True
        if pattern.startswith("*.") and "." in host and host.split(".", 1)[1] == pattern[2:]:
            return True
    return False


async def probe_certificate(
    backend: httpcore.AsyncNetworkBackend, host: str, port: int, limit_seconds: float, error: str
) -> TLSInfo | None:
    """Certificate facts from a handshake that does not verify; None when even that fails."""
    try:
        stream = await backend.connect_tcp(host, port, timeout=limit_seconds)
        try:
            stream = await stream.start_tls(_probing_context(), server_hostname=host, timeout=limit_seconds)
            ssl_object = stream.get_extra_info("ssl_object")
            return tls_info(ssl_object, host, verified=False, error=error) if ssl_object else None
        finally:
            await stream.aclose()
    except Exception:  # the probe is a bonus: the fetch already failed with a clear reason
        return None
