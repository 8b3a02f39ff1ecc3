"""Who and where, in real Chromium: configs imported from a YAML file (dry run with a verdict per item,
then the import); no serious accessibility violation (axe-core, installed by scripts/install_axe.sh) on
the console's pages in the light and the dark theme; a viewer's console is read only (fields disabled,
not only buttons); at phone width nothing is wider than the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from tests.browser.console import (
    AXE,
    ORGANIZATION,
    SHOP_HTML,
    Console,
    needs_chromium,
    overflowing,
    running_console,
    serious_violations,
)
from tests.support.testsite import LocalSite

from techscaniq.api.auth import Role, create_token
from techscaniq.settings import Settings

pytestmark = [needs_chromium, pytest.mark.browser]

IMPORT_YAML = """configs:
  - name: Imported shop
    url: {url}
    tags: [imported]
    schedule: {{type: interval, expression: 1h, timezone: UTC}}
  - name: Broken entry
    url: ftp://example.com/
    schedule: {{type: interval, expression: 1h}}
"""


async def import_yaml(console: Console, site: LocalSite, tmp_path: Path) -> None:
    page = console.page
    document = tmp_path / "sites.yaml"
    document.write_text(IMPORT_YAML.format(url=site.url("/")))
    await page.locator("#import-file").set_input_files(str(document))
    panel = page.locator("#import-panel")
    await expect(panel).to_contain_text("1 site(s) would be created, 0 updated, 1 refused")
    await expect(panel.locator("li", has_text="refused")).to_contain_text("item 1 (Broken entry): url")
    assert await console.system.list_monitoring_configs(ORGANIZATION) == []  # a dry run stores nothing
    await panel.get_by_role("button", name="Import", exact=True).click()
    await expect(panel).to_contain_text("1 site(s) were created")
    await expect(page.locator(".site-card", has_text="Imported shop").locator(".pill.ok")).to_have_text(
        "up · HTTP 200", timeout=15_000)
    [imported] = await console.system.list_monitoring_configs(ORGANIZATION)
    assert imported.tags == ["imported"]


@pytest.mark.skipif(not AXE.exists(), reason="run scripts/install_axe.sh (axe-core from npm)")
@pytest.mark.timeout(90)
async def test_import_accessibility_viewer_read_only_and_phone_width(
    settings: Settings, local_site: LocalSite, browser: Browser, tmp_path: Path
) -> None:
    local_site.route("/", body=SHOP_HTML)
    async with running_console(settings, browser) as console:
        page = console.page
        await console.sign_in()
        await import_yaml(console, local_site, tmp_path)
        [config] = await console.system.list_monitoring_configs(ORGANIZATION)

        for route in ("#/", f"#/site/{config.id}", "#/inbox", "#/alerting", "#/portfolio"):
            await console.go(route)
            await page.wait_for_load_state("networkidle")
            assert await serious_violations(page) == [], route
        await page.get_by_role("button", name="Colour theme: system (change)").click()
        assert await page.evaluate("document.documentElement.dataset.theme") == "dark"
        await console.go(f"#/site/{config.id}")  # the page with the most colours
        await page.wait_for_load_state("networkidle")
        assert await serious_violations(page) == [], "dark theme"
        console.assert_no_errors()

        # A viewer (a read-only token): every field of every form is disabled, the actions too.
        viewer = create_token(console.system.settings, ORGANIZATION, Role.VIEWER, subject="viewer")
        viewer_page = await browser.new_page(viewport={"width": 390, "height": 844})
        phone = Console(console.system, viewer_page)
        viewer_page.on("pageerror", lambda error: phone.errors.append(str(error)))
        await phone.sign_in(viewer)
        await expect(viewer_page.locator("#org-name")).to_have_text(f"{ORGANIZATION} (read only)")
        await expect(viewer_page.locator(".site-card", has_text="Imported shop")).to_be_visible()
        for field in ("#sf-name", "#sf-url", "#sf-tags", "#sf-expression", "#sf-schedule-type", "#sf-submit",
                      "#import-file"):
            await expect(viewer_page.locator(field)).to_be_disabled()
        await expect(viewer_page.locator("label[for=import-file]")).to_be_hidden()
        assert await overflowing(viewer_page) == [], "sites at phone width"
        await phone.go(f"#/site/{config.id}")
        await expect(viewer_page.get_by_role("heading", name="Imported shop")).to_be_visible()
        for field in ("#scan-now", "#edit-site", "#delete-site", "#rf-name", "#rf-type", "#rf-submit"):
            await expect(viewer_page.locator(field)).to_be_disabled()
        assert await overflowing(viewer_page) == [], "site page at phone width"
        for route in ("#/inbox", "#/alerting"):
            await phone.go(route)
            await viewer_page.wait_for_load_state("networkidle")
            assert await overflowing(viewer_page) == [], f"{route} at phone width"
        await expect(viewer_page.locator("#silence-form input").first).to_be_disabled()
        phone.assert_no_errors()
