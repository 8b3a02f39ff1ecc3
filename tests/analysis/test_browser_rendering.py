"""Browser mode: one Chromium rendering per scan feeds both the technology step (js, dom and xhr
fingerprints) and the performance step (web vitals). Real Debian Chromium against a local site."""

from __future__ import annotations

import os

import pytest
from tests.support.testsite import LocalSite

from techscaniq.domain.config import MonitoringConfig
from techscaniq.scanning.browser import BrowserRenderer
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


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (scripts/install_browser.sh)")
async def test_js_dom_and_xhr_fingerprints_from_one_shared_rendering(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body=PAGE)
    local_site.route("/api/acme-ping", body="{}", content_type="application/json")
    engine = FingerprintEngine(database_from_json(ONLY_VISIBLE_WHEN_RENDERED))
    renderer = BrowserRenderer(allow_private_targets=True)
    fetcher = Fetcher(settings)
    scanner = Scanner(settings, [TechnologyAnalyzer(engine, renderer=renderer), PerformanceAnalyzer(renderer=renderer)],
                      fetcher)
    config = MonitoringConfig.model_validate({
        "organization_id": "org-1", "name": "rendered", "url": local_site.url("/"),
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {"browser": True, "security": False},
    })
    try:
        plain, _ = await scanner.scan(config.model_copy(update={"scan_config": config.scan_config.model_copy(
            update={"browser": False})}))
        rendered, _ = await scanner.scan(config)
    finally:
        await fetcher.aclose()

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
    fetcher = Fetcher(settings)
    scanner = Scanner(settings, [TechnologyAnalyzer(engine, renderer=BrowserRenderer(allow_private_targets=True))],
                      fetcher)
    config = MonitoringConfig.model_validate({
        "organization_id": "org-1", "name": "built-in", "url": local_site.url("/"),
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {"browser": True, "security": False, "performance": False},
    })
    try:
        plain, _ = await scanner.scan(config.model_copy(update={"scan_config": config.scan_config.model_copy(
            update={"browser": False})}))
        rendered, _ = await scanner.scan(config)
    finally:
        await fetcher.aclose()

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
