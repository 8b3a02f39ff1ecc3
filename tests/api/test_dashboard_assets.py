"""The dashboard is served by the app itself (no build step, nothing from elsewhere) with a strict CSP."""

from __future__ import annotations

import re

from tests.api.conftest import Client

from techscaniq.api.app import create_app
from techscaniq.system import MonitoringSystem


async def test_the_dashboard_and_its_assets_come_from_the_app(client: Client) -> None:
    browser = client(None)
    page = await browser.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {"/static/app.js", "/static/charts.js", "/static/style.css"} <= set(assets)
    for asset in assets:
        assert (await browser.get(asset)).status_code == 200, asset
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)  # no CDN
    for script in ("/static/app.js", "/static/charts.js"):
        source = (await browser.get(script)).text
        assert "innerHTML" not in source and "https://" not in source.replace("http://www.w3.org/2000/svg", "")


async def test_the_dashboard_can_be_turned_off(system: MonitoringSystem, client: Client) -> None:
    system.settings = system.settings.model_copy(update={"dashboard_enabled": False})
    assert (await client(None, app_override=create_app(system)).get("/")).status_code == 404


async def test_api_docs_work_offline(client: Client) -> None:
    browser = client(None)
    page = await browser.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert "/docs-assets/swagger-ui-bundle.js" in scripts
    assert not [url for url in scripts if "//" in url]  # nothing from a CDN
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert (await browser.get(asset)).status_code == 200
    assert (await browser.get("/openapi.json")).json()["info"]["title"] == "TechScanIQ Continuous Monitoring"
