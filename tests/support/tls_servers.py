"""Server-side TLS configurations for the TLS rating tests, weak ones included, made at test time.

`tls_server_context(test_ca, ...)` issues a leaf for 127.0.0.1/localhost with `cryptography` (RSA of any
size, any lifetime, directly from the test CA or through an intermediate that may be left out of the
chain) and returns a Python `ssl` server context limited to the given protocols and suites. Security
level 0 on the server so that this OpenSSL serves what a badly configured server still serves.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from tests.support.certificates import SITE_IDENTITIES, TestCA, subject_alternative_names

# Standard finite-field groups for DHE servers (public constants: generating a 1024-bit safe prime takes
# seconds). RFC 5114 section 2.1 (1024-bit MODP with a 160-bit subgroup) and RFC 7919 ffdhe2048.
DH_GROUPS = {
    1024: """-----BEGIN DH PARAMETERS-----
MIIBCAKBgQCxC4+WoIDgHd6S3l6uXVTsUsmfvPsGo8aaap3KUtI7YWBz4oZ1oj0Y
mDjvHi7mUsAT7LSuqQYRIySXXDzUm4O/rMvdfZDEvXCYSI6cIZpzck7/1vrlZEc4
+qMaT/VbzMChUa9fDci0vUW/N982XBpl5oz9p21NpwjfH7K8LkpDcQKBgQCk0cvV
w/00EmdlpELvuZkF+BBN0lisUH/WQGz/FCZtMSZv6h5cQVZLd35pD1UE8hMWAhe0
sBuIal6RVH+eJ0n01/vX07mpLuGQnQ0iY/gKdqaiTAh6CR9THb8KAWm2oorWYqTR
jnOvoy13nVkY0IvIhY9Nzvl8KiSFXm7rIrOy5Q==
-----END DH PARAMETERS-----
""",
    2048: """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
""",
}


def dh_parameters_pem(bits: int) -> str:
    """A DH group of `bits`: a standard one for 1024/2048, else generated now (fast only when small)."""
    if bits in DH_GROUPS:
        return DH_GROUPS[bits]
    from cryptography.hazmat.primitives.asymmetric import dh

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography deprecates FFDH; a weak server is what this is for
        parameters = dh.generate_parameters(generator=2, key_size=bits)
    return parameters.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3).decode()


# Where the leaf says its missing intermediate lives (nothing listens: the probe never fetches it).
MISSING_ISSUER_URL = "http://127.0.0.1:9/intermediate.crt"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(test_ca: TestCA) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
    cert = x509.load_pem_x509_certificate(test_ca.ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(test_ca.ca.private_key_pem.bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return cert, key


def _intermediate(issuer: x509.Certificate, issuer_key: CertificateIssuerPrivateKeyTypes
                  ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("TechScanIQ Test Intermediate")).issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def issue_leaf(test_ca: TestCA, *, key_bits: int = 2048, days: int = 90, via_intermediate: bool = False,
               send_intermediate: bool = True) -> tuple[bytes, bytes]:
    """(certificate chain PEM as the server sends it, key PEM)."""
    issuer, issuer_key = _ca(test_ca)
    extra: list[x509.Certificate] = []
    if via_intermediate:
        intermediate, intermediate_key = _intermediate(issuer, issuer_key)
        issuer, issuer_key = intermediate, intermediate_key
        if send_intermediate:
            extra.append(intermediate)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    sans = subject_alternative_names(SITE_IDENTITIES)
    start = datetime.now(UTC) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(_name(SITE_IDENTITIES[0])).issuer_name(issuer.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=days))
               .add_extension(x509.SubjectAlternativeName(sans), critical=False)
               .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    if via_intermediate:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(MISSING_ISSUER_URL))]),
            critical=False)
    leaf = builder.sign(issuer_key, hashes.SHA256())
    chain = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in [leaf, *extra])
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return chain, key_pem


def tls_server_context(test_ca: TestCA, *, versions: tuple[str, str] = ("TLSv1_2", "TLSv1_3"),
                       ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20", dh_bits: int | None = None,
                       **leaf: object) -> ssl.SSLContext:
    """`versions`: (lowest, highest) ssl.TLSVersion names; `ciphers`: TLS <= 1.2 suites (OpenSSL syntax);
    `dh_bits`: the DH group size for DHE suites."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(ciphers + ":@SECLEVEL=0")
    set_versions(context, *versions)
    chain, key = issue_leaf(test_ca, **leaf)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        chain_file, key_file = Path(tmp) / "chain.pem", Path(tmp) / "key.pem"
        chain_file.write_bytes(chain)
        key_file.write_bytes(key)
        context.load_cert_chain(chain_file, key_file)
        if dh_bits is not None:
            dh_file = Path(tmp) / "dh.pem"
            dh_file.write_text(dh_parameters_pem(dh_bits))
            context.load_dh_params(dh_file)
    return context


def set_versions(context: ssl.SSLContext, lowest: str, highest: str) -> None:
    """Change what a (running) server accepts: new handshakes use the context as it is then."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = getattr(ssl.TLSVersion, lowest)
        context.maximum_version = getattr(ssl.TLSVersion, highest)


class StaplingServer:
    """A pyOpenSSL TLS server that staples an OCSP response (Python's ssl cannot): a real one, signed by the
    test CA for the leaf ("good"), since OpenSSL drops a stapled response it cannot parse. One thread per
    connection, on loopback, port 0."""

    def __init__(self, test_ca: TestCA) -> None:
        from OpenSSL import SSL

        chain, key = issue_leaf(test_ca)
        leaf = x509.load_pem_x509_certificate(chain)
        private_key = serialization.load_pem_private_key(key, None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        response = _ocsp_response(test_ca, leaf)
        self._context = SSL.Context(SSL.TLS_SERVER_METHOD)
        self._context.use_certificate(leaf)  # type: ignore[arg-type]
        self._context.use_privatekey(private_key)  # type: ignore[arg-type]
        self._context.set_ocsp_server_callback(lambda _connection, _data: response)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        from OpenSSL import SSL

        client.setblocking(True)  # pyOpenSSL on a socket with a timeout raises WantRead instead of waiting
        connection = SSL.Connection(self._context, client)
        connection.set_accept_state()
        try:
            connection.do_handshake()
            connection.shutdown()
        except (SSL.Error, OSError):
            pass  # the probe's refused handshakes end here
        finally:
            client.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def _ocsp_response(test_ca: TestCA, leaf: x509.Certificate) -> bytes:
    issuer, issuer_key = _ca(test_ca)
    now = datetime.now(UTC)
    builder = (ocsp.OCSPResponseBuilder()
               .add_response(cert=leaf, issuer=issuer, algorithm=hashes.SHA256(), cert_status=ocsp.OCSPCertStatus.GOOD,
                             this_update=now, next_update=now + timedelta(days=1), revocation_time=None,
                             revocation_reason=None)
               .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer))
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
