"""The TLS rating end to end: real scans (real fetcher, analyzers, SQLite storage, change detector) of local
servers with weak TLS made in the test. A server that only speaks TLS 1.0, or only RSA key exchange, still
gets a whole security report and a low TLS grade; a server that switches TLS 1.0/1.1 back on raises it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.changes.builders import summary
from tests.changes.conftest import _started
from tests.changes.test_real_scans import local_config
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite
from tests.support.tls_servers import set_versions, tls_server_context

from techscaniq.changes import ChangeDetector
from techscaniq.scanning.analyzers import build_analyzers
from techscaniq.scanning.scanner import Scanner
from techscaniq.settings import Settings

HEADERS = [("Strict-Transport-Security", "max-age=31536000"), ("X-Content-Type-Options", "nosniff")]


@pytest.fixture
def rating_settings(tls_settings: Settings) -> Settings:
    return tls_settings.model_copy(update={"tls_rating_cache_hours": 0})  # every scan probes


@pytest.fixture
async def scanner(rating_settings: Settings) -> AsyncIterator[Scanner]:
    instance = Scanner(rating_settings, build_analyzers(rating_settings))
    yield instance
    await instance.aclose()


@pytest.mark.parametrize(("config", "grade", "failed"), [
    ({"versions": ("TLSv1", "TLSv1"), "ciphers": "ECDHE+AES:!aNULL"}, "C", "tls-protocol-tlsv1.0"),
    ({"versions": ("TLSv1_2", "TLSv1_2"), "ciphers": "AES128-GCM-SHA256"}, "B", "tls-forward-secrecy"),
], ids=["tls1.0-only", "rsa-key-exchange-only"])
async def test_a_server_below_the_fetch_floor_gets_a_full_report(
        scanner: Scanner, test_ca: TestCA, config: dict[str, Any], grade: str, failed: str) -> None:
    async with LocalSite(ssl_context=tls_server_context(test_ca, **config)) as site:
        site.route("/", body="<html><p>legacy</p></html>", headers=HEADERS)
        result, _ = await scanner.scan(local_config(site.url("/"), check_legacy_tls=True))
    assert result.succeeded, result.error  # the fetch fell back to the legacy floor; the certificate verified
    report = result.security
    assert report is not None and "security" not in result.analysis_errors
    assert report.tls is not None and report.tls.verified and report.tls.protocol in ("TLSv1", "TLSv1.2")
    found = {finding.test: finding for finding in report.findings}
    assert found["x-content-type-options"].passed  # the headers were graded too
    assert report.tls_rating is not None and report.tls_rating.grade == grade
    assert not found[failed].passed and not found["tls-rating"].passed
    # The reference clients, in the stored report: a current browser speaks no TLS 1.0.
    browser = report.tls_rating.clients[0]
    assert browser.client.startswith("Modern browser") and (browser.protocol is None) is (grade == "C")
    assert found["tls-client-simulation"].passed is (grade != "C")
    # The legacy TLS check answers from the rating's probe (no second set of handshakes).
    legacy = "accepted" if grade == "C" else "rejected"
    assert found["tls-legacy-tlsv1.0"].result == f"tls-legacy-protocol-{legacy}"


async def test_a_certificate_the_fetch_refuses_still_gets_a_tls_rating(scanner: Scanner, test_ca: TestCA) -> None:
    # RSA-1024: the fetch refuses the key like a browser would; the security step reports why, with the rating.
    async with LocalSite(ssl_context=tls_server_context(test_ca, key_bits=1024)) as site:
        site.route("/", body="<html></html>")
        result, _ = await scanner.scan(local_config(site.url("/")))
    assert not result.succeeded and result.error is not None
    report = result.security
    assert report is not None and report.tls_rating is not None
    assert report.tls_rating.grade == "B" and report.details["graded"] is False
    assert not report.finding("tls-key-strength").passed  # type: ignore[union-attr]


async def test_turning_old_protocols_back_on_raises_tls_changes(rating_settings: Settings, scanner: Scanner,
                                                                test_ca: TestCA) -> None:
    context = tls_server_context(test_ca, ciphers="ECDHE+AESGCM:ECDHE+AES")
    storage = await _started(rating_settings)
    detector = ChangeDetector(storage)
    try:
        async with LocalSite(ssl_context=context) as site:
            site.route("/", body="<html><p>shop</p></html>", headers=HEADERS)
            config = local_config(site.url("/"))

            async def scan() -> set[tuple[str, str, str, str]]:
                result, body = await scanner.scan(config)
                assert result.succeeded, result.error
                await storage.scans.add(result, body)
                return summary(await detector.handle_scan(result, config))

            assert await scan() == set()
            assert await scan() == set()
            set_versions(context, "TLSv1", "TLSv1_3")  # the running server now also accepts TLS 1.0 and 1.1
            assert await scan() == {("security", "protocol_offered", "TLSv1.0", "high"),
                                    ("security", "protocol_offered", "TLSv1.1", "high"),
                                    ("security", "degraded", "tls_grade", "medium")}
            assert await scan() == set()
            latest = (await storage.scans.find(config_id=config.id, limit=1))[0]
            assert latest.security is not None and latest.security.tls_rating is not None
            assert latest.security.tls_rating.grade == "B"  # stored and read back
    finally:
        await storage.close()
