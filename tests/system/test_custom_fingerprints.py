"""An organization's own fingerprints: detected in its scans only, kept across restarts."""

from __future__ import annotations

from tests.support.testsite import LocalSite

from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

ACME = {"Acme CMS": {"cats": [1], "headers": {"X-Powered-By": "AcmeCMS(?:/([\\d.]+))?\\;version:\\1"}}}


def site(org: str, url: str) -> dict[str, object]:
    return {"organization_id": org, "name": "acme", "url": url, "schedule": {"type": "interval", "expression": "1h"}}


async def test_custom_fingerprints_apply_to_their_organization_and_survive_a_restart(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html><body>hi</body></html>", headers=[("X-Powered-By", "AcmeCMS/4.2")])
    async with MonitoringSystem(settings, serve_http=False) as system:
        assert await system.set_custom_fingerprints("org-acme", ACME) == []

    async with MonitoringSystem(settings, serve_http=False) as system:  # a restart: only the database remains
        own = await system.add_monitoring_config(site("org-acme", local_site.url("/")))
        other = await system.add_monitoring_config(site("org-other", local_site.url("/")))
        own_scan = await system.scan_now(own, wait=True)
        other_scan = await system.scan_now(other, wait=True)
        assert isinstance(own_scan, ScanResult) and isinstance(other_scan, ScanResult)
        assert ("Acme CMS", "4.2") in {(t.name, t.version) for t in own_scan.technologies}
        assert "Acme CMS" not in {t.name for t in other_scan.technologies}

        await system.set_custom_fingerprints("org-acme", None)
        again = await system.scan_now(own, wait=True)
        assert isinstance(again, ScanResult)
        assert "Acme CMS" not in {t.name for t in again.technologies}
