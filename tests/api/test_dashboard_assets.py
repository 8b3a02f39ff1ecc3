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
    redoc = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", (await browser.get("/redoc")).text)
    assert "/docs-assets/redoc.standalone.js" in redoc and not [url for url in redoc if "//" in url]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        asset = f"/docs-assets/{asset}"
        assert (await browser.get(asset)).status_code == 200
    assert (await browser.get("/openapi.json")).json()["info"]["title"] == "TechScanIQ Continuous Monitoring"


async def test_every_request_body_has_a_schema_and_an_example(client: Client) -> None:
    document = (await client(None).get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    bodies = {(path, method): operation["requestBody"]["content"]["application/json"]
              for path, item in document["paths"].items() for method, operation in item.items()
              if path.startswith(("/api/v1/configs", "/api/v1/silences")) and "requestBody" in operation
              and "application/json" in operation["requestBody"]["content"]}
    for key in [("/api/v1/configs", "post"), ("/api/v1/configs/{config_id}", "put"),
                ("/api/v1/configs/{config_id}", "patch"), ("/api/v1/configs/{config_id}/rules", "post"),
                ("/api/v1/configs/{config_id}/rules/{rule_id}", "put"), ("/api/v1/silences", "post")]:
        assert bodies[key]["example"], key
        schema = bodies[key]["schema"]
        assert "$ref" in schema or schema["properties"], key
    config = schemas["MonitoringConfig"]
    assert set(config["required"]) == {"name", "url", "schedule"}  # organization_id comes from the credentials
    assert {"WebhookChannel", "SlackChannel", "EmailChannel", "AppriseChannel", "Schedule"} <= set(schemas)
    assert "url" in schemas["WebhookChannel"]["properties"]
