"""A scheduled scan of a real local site whose page loads vulnerable libraries the site serves itself: the
bundled Retire.js snapshot's extractors find them (one by file content inside a renamed bundle, one by its
file name), and the scan's security report and the API name each advisory with its CVE, GHSA and fix."""

from __future__ import annotations

import httpx
from tests.support.fixtures import SiteFactory

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

PAGE = ('<html><head><title>Docs</title><script src="/assets/vendor.8f3a.js"></script>'
        '<script src="/static/markdown-it-12.0.4.min.js"></script></head><body><h1>Docs</h1></body></html>')
# The start of a JSZip 3.1.5 build: the banner Retire.js's filecontent extractor knows.
VENDOR = ("/*!\n\nJSZip v3.1.5 - A JavaScript class for generating and reading zip files\n"
          "<http://stuartk.com/jszip>\n*/\n!function(e){window.JSZip=e()}(function(){return {}});\n")


async def test_scan_reports_libraries_found_by_retirejs_extractors(settings: Settings,
                                                                  site_factory: SiteFactory) -> None:
    site = await site_factory()
    site.route("/", body=PAGE)
    site.route("/assets/vendor.8f3a.js", body=VENDOR, content_type="application/javascript")
    site.route("/static/markdown-it-12.0.4.min.js", body="window.md=1;", content_type="application/javascript")

    async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
        config_id = await system.add_monitoring_config({
            "organization_id": "org-libs", "name": "Docs", "url": site.url("/"),
            "schedule": {"type": "interval", "expression": "1h"},
            "scan_config": {"technologies": True, "performance": True, "security": True, "full_page": True},
        })
        scan = await system.scan_now(config_id, wait=True)
        assert isinstance(scan, ScanResult) and scan.security is not None
        assert "security.advisories" not in scan.analysis_errors
        found = {(v.library, v.version, v.advisory_id): v for v in scan.security.vulnerabilities}

        jszip = found[("jszip", "3.1.5", "CVE-2021-23413")]  # no fingerprint of ours knows JSZip
        assert (jszip.detection, jszip.evidence) == ("filecontent", site.url("/assets/vendor.8f3a.js"))
        assert (jszip.fixed_version, jszip.ghsa) == ("3.7.0", ["GHSA-jg8v-48h5-wgxg"])
        assert ("jszip", "3.1.5", "CVE-2022-48285") in found
        markdown = found[("markdown-it", "12.0.4", "CVE-2022-21670")]
        assert (markdown.detection, markdown.fixed_version) == ("filename", "12.3.2")

        finding = next(f for f in scan.security.findings
                       if f.category == "library" and f.data["advisory_id"] == "CVE-2021-23413")
        assert finding.value == "jszip 3.1.5" and not finding.passed and "fixed in 3.7.0" in finding.description

        token = create_token(system.settings, "org-libs", Role.VIEWER)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://api.test",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            answer = await client.get(f"/api/v1/scans/{scan.id}")
        assert answer.status_code == 200
        listed = [v for v in answer.json()["security"]["vulnerabilities"] if v["advisory_id"] == "CVE-2021-23413"]
        assert listed and listed[0]["cve"] == ["CVE-2021-23413"] and listed[0]["fixed_version"] == "3.7.0"
        assert listed[0]["severity"] == "medium"
