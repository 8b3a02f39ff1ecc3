"""A real TLS server that still speaks SSL 3.0 and RC4: NSS's `selfserv` (package libnss3-tools, installed by
scripts/install_nss_tools.sh), which neither OpenSSL on this machine can be (SSL 3.0 and RC4 are compiled out
of both). Its certificate is a leaf from the test CA, imported into a throwaway NSS database."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from tests.support.certificates import TestCA
from tests.support.ports import free_port
from tests.support.tls_servers import issue_leaf

_PASSWORD = "techscaniq"


class NSSServer:
    """`versions`: selfserv's -V (e.g. "ssl3:tls1.2"); `ciphers`: its -c (letters from `selfserv -Y`, or
    ":XXXX" IANA numbers), e.g. "n:002F" = RC4-SHA and AES128-SHA."""

    def __init__(self, test_ca: TestCA, *, versions: str, ciphers: str) -> None:
        selfserv = shutil.which("selfserv")
        if selfserv is None:
            raise RuntimeError("selfserv not found: run scripts/install_nss_tools.sh (package libnss3-tools)")
        self._tmp = tempfile.TemporaryDirectory()
        database = Path(self._tmp.name)
        chain, key_pem = issue_leaf(test_ca)
        key = serialization.load_pem_private_key(key_pem, None)
        assert isinstance(key, rsa.RSAPrivateKey)
        bundle = pkcs12.serialize_key_and_certificates(
            b"site", key, x509.load_pem_x509_certificate(chain), None,
            serialization.BestAvailableEncryption(_PASSWORD.encode()))
        (database / "site.p12").write_bytes(bundle)
        run = {"check": True, "capture_output": True, "timeout": 30}
        subprocess.run(["certutil", "-N", "-d", f"sql:{database}", "--empty-password"], **run)  # type: ignore[call-overload]
        subprocess.run(["pk12util", "-i", str(database / "site.p12"), "-d", f"sql:{database}",  # type: ignore[call-overload]
                        "-W", _PASSWORD], **run)
        self.port = free_port()
        self._process = subprocess.Popen(
            [selfserv, "-d", f"sql:{database}", "-n", "site", "-p", str(self.port), "-V", versions, "-c", ciphers],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    error = self._process.stderr.read().decode() if self._process.stderr else ""
                    self.close()
                    raise RuntimeError(f"selfserv did not start: {error[:500]}") from None
                time.sleep(0.05)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._process.stderr:
            self._process.stderr.close()
        self._tmp.cleanup()
