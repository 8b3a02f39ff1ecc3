"""Browser mode: one Chromium rendering per scan feeds both the technology step (js, dom and xhr
fingerprints) and the performance step (web vitals). Real Debian Chromium against a local site."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite

from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.scanning.analysis import Analyzer
from techscaniq.scanning.browser import BrowserRenderer, BrowserUnavailableError
from techscaniq.scanning.browser_trust import TrustStoreError, home_trusting
from techscaniq.scanning.fetch import Fetcher
from techscaniq.scanning.fingerprints import builtin_database_path, load_database
from techscaniq.scanning.fingerprints.analyzer import TechnologyAnalyzer
from techscaniq.scanning.fingerprints.database import database_from_json
from techscaniq.scanning.fingerprints.engine import FingerprintEngine
from techscaniq.scanning.performance.analyzer import PerformanceAnalyzer
from techscaniq.scanning.scanner import Scanner
from techscaniq.settings import Settings

CHROMIUM = "/usr/bin/chromium"

ONLY_VISIBLE_WHEN_RENDERED = {
    "Acme JS": {"js": {"Acme.version": "([\\d.]+)\\;version:\\1"}},
    "Acme Widget": {"dom": {"#acme-widget": {"attributes": {"data-acme-version": "(\\d+)\\;version:\\1"}}}},
    "Acme Ping": {"xhr": "/api/acme-ping"},
}

PAGE = """<html><head><title>rendered</title></head><body>
<h1>Rendered shop</h1><div id="root"></div>
<script>
  window.Acme = {version: "2.5." + (1 + 0)};
  const widget = document.createElement("div");
  widget.id = "acme-widget";
  widget.setAttribute("data-acme-version", String(6 + 1));
  document.getElementById("root").appendChild(widget);
  fetch("/api/acme-ping");
</script>
</body></html>"""


async def scan_without_and_with_browser(settings: Settings, analyzers: list[Analyzer], url: str,
                                        scan_config: dict[str, bool]) -> tuple[ScanResult, ScanResult]:
    """Two scans of `url` with these analysis steps: a plain HTTP one, then one in browser mode."""
    fetcher = Fetcher(settings)
    scanner = Scanner(settings, analyzers, fetcher)
    config = MonitoringConfig.model_validate({
        "organization_id": "org-1", "name": "rendered", "url": url,
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {**scan_config, "browser": True},
    })
    try:
        plain, _ = await scanner.scan(config.model_copy(update={"scan_config": config.scan_config.model_copy(
            update={"browser": False})}))
        rendered, _ = await scanner.scan(config)
    finally:
        await fetcher.aclose()
    return plain, rendered


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (scripts/install_browser.sh)")
async def test_js_dom_and_xhr_fingerprints_from_one_shared_rendering(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body=PAGE)
    local_site.route("/api/acme-ping", body="{}", content_type="application/json")
    engine = FingerprintEngine(database_from_json(ONLY_VISIBLE_WHEN_RENDERED))
    renderer = BrowserRenderer(policy=AddressPolicy(allow_private=True))
    plain, rendered = await scan_without_and_with_browser(
        settings, [TechnologyAnalyzer(engine, renderer=renderer), PerformanceAnalyzer(renderer=renderer)],
        local_site.url("/"), {"security": False})

    # The raw HTML names none of them: only the rendered page shows them.
    assert plain.technologies == []
    assert rendered.analysis_errors == {}
    found = {tech.name: tech.version for tech in rendered.technologies}
    assert found == {"Acme JS": "2.5.1", "Acme Widget": "7", "Acme Ping": None}
    sources = {evidence.source for tech in rendered.technologies for evidence in tech.evidence}
    assert sources == {"js", "dom", "xhr"}
    assert rendered.performance is not None and "fcp_ms" in rendered.performance.metrics
    # Two plain fetches of "/" and one browser load: technologies and performance shared the rendering.
    assert [r.path for r in local_site.requests].count("/") == 3


# A page whose libraries show only once its scripts run: jQuery's version is a global, Angular's is the
# `ng-version` attribute it stamps on the root element. Its robots.txt is WordPress's default one.
BUILTIN_PAGE = """<html><head><title>built-in</title></head><body>
<app-root></app-root>
<script>
  window.jQuery = {fn: {jquery: ["3", "7", "1"].join(".")}};
  document.querySelector("app-root").setAttribute("ng" + "-version", "17.3." + 0);
</script>
</body></html>"""
WORDPRESS_ROBOTS = "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (scripts/install_browser.sh)")
async def test_the_builtin_set_alone_detects_libraries_with_versions_in_browser_mode(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body=BUILTIN_PAGE)
    local_site.route("/robots.txt", body=WORDPRESS_ROBOTS, content_type="text/plain")
    engine = FingerprintEngine(load_database([builtin_database_path()]))
    plain, rendered = await scan_without_and_with_browser(
        settings, [TechnologyAnalyzer(engine, renderer=BrowserRenderer(policy=AddressPolicy(allow_private=True)))],
        local_site.url("/"), {"security": False, "performance": False})

    # Without a browser only robots.txt speaks (WordPress, and what it implies).
    assert {tech.name for tech in plain.technologies} == {"WordPress", "PHP", "MySQL"}
    assert rendered.analysis_errors == {}
    found = {tech.name: tech.version for tech in rendered.technologies}
    assert found == {"WordPress": None, "PHP": None, "MySQL": None, "jQuery": "3.7.1", "Angular": "17.3.0",
                     "TypeScript": None}
    by_name = {tech.name: tech for tech in rendered.technologies}
    assert [evidence.source for evidence in by_name["jQuery"].evidence] == ["js"]
    assert [evidence.source for evidence in by_name["Angular"].evidence] == ["dom"]
    assert [evidence.source for evidence in by_name["WordPress"].evidence] == ["robots"]


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (scripts/install_browser.sh)")
@pytest.mark.skipif(shutil.which("certutil") is None, reason="needs NSS's certutil (scripts/install_browser.sh)")
async def test_the_browser_trusts_the_extra_ca_bundle_like_the_fetcher(tmp_path: Path) -> None:
    ca = TestCA(tmp_path)
    async with LocalSite(tls=ca) as site:
        site.route("/", body="<html><body><h1>behind a private CA</h1></body></html>")
        trusting = BrowserRenderer(policy=AddressPolicy(allow_private=True), extra_ca_bundle=ca.pem_path)
        measured = await trusting.render(site.url("/"))
        assert measured.details["status_code"] == 200
        assert measured.metrics["browser_request_count"] >= 1
        with pytest.raises(BrowserUnavailableError, match="ERR_CERT_AUTHORITY_INVALID"):
            await BrowserRenderer(policy=AddressPolicy(allow_private=True)).render(site.url("/"))


async def test_an_unusable_extra_ca_bundle_is_a_clear_browser_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bundle.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(TrustStoreError, match="holds no PEM certificate"):
        await home_trusting(empty, certutil="/bin/true")
    with pytest.raises(TrustStoreError, match="cannot be read"):
        await home_trusting(tmp_path / "missing.pem", certutil="/bin/true")
    monkeypatch.setattr(shutil, "which", lambda _name: None)  # a machine without NSS's tools
    with pytest.raises(BrowserUnavailableError, match="certutil not found"):
        await BrowserRenderer(extra_ca_bundle=empty).render("https://127.0.0.1:1/")
