"""Certificates for the local HTTPS test site: one test CA (trustme) and every kind of bad certificate.

`TestCA.server_context(kind)` gives a server-side `ssl.SSLContext` presenting a valid certificate for
127.0.0.1/localhost, an expired one, one for the wrong host, or a self-signed one. Clients trust the
CA by loading `TestCA.pem_path` (e.g. `Settings(extra_ca_bundle=ca.pem_path)`).
"""

from __future__ import annotations

import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SITE_IDENTITIES = ("127.0.0.1", "localhost")


class CertificateKind(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WRONG_HOST = "wrong_host"
    SELF_SIGNED = "self_signed"


class TestCA:
    """A throw-away certificate authority plus its PEM written to a file clients can trust."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path | None = None) -> None:
        self.ca = trustme.CA(organization_name="TechScanIQ Test CA")
        directory = directory or Path(tempfile.mkdtemp(prefix="techscaniq-ca-"))
        self.pem_path = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.pem_path))

    def server_context(self, kind: CertificateKind | str = CertificateKind.VALID) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        kind = CertificateKind(kind)
        if kind is CertificateKind.SELF_SIGNED:
            cert_pem, key_pem = _self_signed(SITE_IDENTITIES)
            with tempfile.TemporaryDirectory() as tmp:
                cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
                cert_file.write_bytes(cert_pem)
                key_file.write_bytes(key_pem)
                context.load_cert_chain(cert_file, key_file)
            return context
        now = datetime.now(UTC)
        if kind is CertificateKind.EXPIRED:
            leaf = self.ca.issue_cert(
                *SITE_IDENTITIES, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
            )
        elif kind is CertificateKind.WRONG_HOST:
            leaf = self.ca.issue_cert("wrong.example")
        else:
            leaf = self.ca.issue_cert(*SITE_IDENTITIES, organization_name="TechScanIQ Test Site")
        leaf.configure_cert(context)
        return context


def subject_alternative_names(identities: tuple[str, ...]) -> list[x509.GeneralName]:
    """Each identity as the SAN entry a client checks: an IP address entry for literals, else a DNS name."""
    import ipaddress

    sans: list[x509.GeneralName] = []
    for identity in identities:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(identity)))
        except ValueError:
            sans.append(x509.DNSName(identity))
    return sans


def _self_signed(identities: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A certificate signed by its own key, naming the right hosts: only the trust chain is wrong."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identities[0])])
    sans = subject_alternative_names(identities)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
