"""Chromium trusting EXTRA_CA_BUNDLE: the HTTP fetcher trusts those CAs, so browser mode must too, or every
site behind a private CA fails there with ERR_CERT_AUTHORITY_INVALID.

Chromium on Linux reads extra trust anchors from the NSS database in `$HOME/.pki/nssdb`. We build one per
process in a temporary home (with NSS's own `certutil`, from Debian's libnss3-tools) holding just the
bundle's CAs, and launch Chromium with HOME pointing there; the machine's own trust store is untouched.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import shutil
import subprocess
import tempfile
from pathlib import Path


class TrustStoreError(Exception):
    """The browser cannot be made to trust EXTRA_CA_BUNDLE (browser.py reports it as the browser unavailable)."""


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


async def home_trusting(bundle: Path, certutil: str | None = None) -> Path:
    """A home directory whose NSS database trusts every CA certificate in `bundle` (PEM)."""
    certutil = certutil or shutil.which("certutil")
    if certutil is None:
        raise TrustStoreError(
            "browser mode cannot trust EXTRA_CA_BUNDLE: certutil not found (apt-get install libnss3-tools)")
    return await asyncio.to_thread(_build_home, bundle, certutil)


def _build_home(bundle: Path, certutil: str) -> Path:
    try:
        certificates = _PEM.findall(bundle.read_bytes())
    except OSError as exc:
        raise TrustStoreError(f"EXTRA_CA_BUNDLE {bundle} cannot be read: {exc.strerror}") from None
    if not certificates:
        raise TrustStoreError(f"EXTRA_CA_BUNDLE {bundle} holds no PEM certificate")
    home = Path(tempfile.mkdtemp(prefix="techscaniq-browser-home-"))
    atexit.register(shutil.rmtree, home, True)
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    _run(certutil, "-N", "-d", f"sql:{database}", "--empty-password")
    for number, certificate in enumerate(certificates, 1):
        pem = home / f"ca-{number}.pem"
        pem.write_bytes(certificate + b"\n")
        # "C,,": a trusted CA for TLS servers (and nothing else).
        _run(certutil, "-A", "-d", f"sql:{database}", "-n", f"extra-ca-{number}", "-t", "C,,", "-i", str(pem))
    return home


def _run(*command: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or ["certutil failed"]
        raise TrustStoreError(f"cannot build the browser's trust store from EXTRA_CA_BUNDLE: {lines[-1]}")
