"""Change detection behind the real scanner: a local HTTPS site scanned with the real fetcher and
analyzers, history in the real SQLite storage. Repeated scans of an unchanged site must raise nothing
(real timing jitter, real TLS), and a real edit of the page must raise exactly its change."""

from __future__ import annotations

from tests.changes.builders import summary
from tests.changes.conftest import _started
from tests.support.testsite import LocalSite

from techscaniq.changes import ChangeDetector
from techscaniq.domain.config import MonitoringConfig
from techscaniq.scanning.analyzers import build_analyzers
from techscaniq.scanning.scanner import Scanner
from techscaniq.settings import Settings

PAGE = """<!doctype html><html><head><meta name="generator" content="WordPress 6.4.2">
<script src="/wp-includes/js/jquery/jquery.min.js?ver={jquery}"></script></head><body>shop</body></html>"""
HEADERS = [("Strict-Transport-Security", "max-age=31536000"), ("X-Frame-Options", "DENY"),
           ("X-Content-Type-Options", "nosniff")]


async def test_unchanged_site_raises_nothing_and_real_edits_raise_exactly_their_changes(
    tls_settings: Settings, tls_site: LocalSite
) -> None:
    tls_site.route("/", body=PAGE.format(jquery="3.7.1"), headers=HEADERS)
    config = MonitoringConfig.model_validate({
        "organization_id": "org-1", "name": "local", "url": tls_site.url("/"),
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {"performance_thresholds": {"load_time": 20, "ttfb": 25}},
    })
    storage = await _started(tls_settings)
    scanner = Scanner(tls_settings, build_analyzers(tls_settings))
    detector = ChangeDetector(storage)

    async def scan() -> set[tuple[str, str, str, str]]:
        result, body = await scanner.scan(config)
        assert result.succeeded, result.error
        await storage.scans.add(result, body)
        return summary(await detector.handle_scan(result, config))

    try:
        for _ in range(4):
            assert await scan() == set()
        first = (await storage.scans.find(config_id=config.id, limit=1))[0]
        assert {d.name for d in first.technologies} >= {"WordPress"}
        assert first.security is not None and first.security.tls is not None

        tls_site.route("/", body=PAGE.format(jquery="3.7.1"), headers=HEADERS[1:])
        changes = await scan()
        assert ("security", "removed", "strict-transport-security", "high") in changes
        assert {c[0] for c in changes} == {"security"}  # the grade may drop with it; nothing else
        # The database's "HSTS technology" goes with the header: reported once, as the header.
        assert await scan() == set()

        tls_site.route("/", body=PAGE.format(jquery="3.7.2"), headers=HEADERS[1:])
        assert await scan() == {("technology", "upgraded", "jQuery", "low")}
        assert await scan() == set()
    finally:
        await scanner.aclose()
        await storage.close()
