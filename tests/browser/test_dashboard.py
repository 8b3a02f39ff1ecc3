"""The dashboard in a real browser (Playwright driving Debian's headless /usr/bin/chromium, installed by
scripts/install_browser.sh): sign in with an API key, add a local test site, see its first scan arrive
live without reloading the page, open the site's page, and save screenshots (TEST_ARTIFACTS_DIR, or the
test's tmp dir) for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from tests.support.testsite import LocalSite

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "dashboard-key-0123456789abcdef"
SITE_HTML = """<!doctype html><html><head><title>Shop</title>
<script src="/js/jquery-3.6.0.min.js"></script><meta name="generator" content="WordPress 6.4.2"></head>
<body><h1>Shop</h1></body></html>"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run scripts/install_browser.sh (Debian chromium)")


def artifacts(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("TEST_ARTIFACTS_DIR", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.mark.timeout(90)
async def test_sign_in_add_a_site_and_watch_its_first_scan_arrive_live(
    settings: Settings, local_site: LocalSite, browser: Browser, tmp_path: Path
) -> None:
    local_site.route("/", body=SITE_HTML, headers=[("Server", "nginx/1.25.3"), ("X-Frame-Options", "DENY")])
    local_site.route("/js/jquery-3.6.0.min.js", body="/* jQuery v3.6.0 */", content_type="application/javascript")
    settings = settings.model_copy(update={"api_keys": f"org-browser:{API_KEY}"})
    async with MonitoringSystem(settings, configure_logs=False) as system:
        page: Page = await browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        await page.goto(f"http://127.0.0.1:{system.ports['api']}/")

        await page.get_by_label("API key or token").fill(API_KEY)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Monitored sites")).to_be_visible()
        await expect(page.locator("#live")).to_have_class("live on")  # the WebSocket is connected
        await page.evaluate("window.__sameDocument = true")

        await page.get_by_label("Site name").fill("Local shop")
        await page.get_by_label("URL", exact=True).fill(local_site.url("/"))
        await page.get_by_role("button", name="Add and scan now").click()
        card = page.locator(".site-card", has_text="Local shop")
        await expect(card).to_be_visible()
        # The first scan arrives over the WebSocket: status, grade and stack appear on the same page.
        await expect(card.locator(".pill.ok")).to_have_text("up · HTTP 200", timeout=20_000)
        await expect(card.locator(".chip", has_text="jQuery")).to_be_visible()
        await expect(card.locator(".grade")).to_have_text(re.compile(r"^[A-F][+-]?$"))  # a grade, not the placeholder
        assert await page.evaluate("window.__sameDocument") is True  # no reload happened
        await page.screenshot(path=str(artifacts(tmp_path) / "dashboard-sites.png"), full_page=True)

        # The site's page: two more scans give the performance chart a line.
        await card.click()
        await expect(page.get_by_role("heading", name="Local shop")).to_be_visible()
        for _ in range(2):
            await page.get_by_role("button", name="Scan now", exact=True).click()
            await page.wait_for_timeout(700)
        await expect(page.locator("#perf-chart polyline")).to_have_count(2, timeout=15_000)
        await expect(page.locator("#tech-timeline .name", has_text="jQuery")).to_be_visible()
        await expect(page.locator("#findings li").first).to_be_visible()
        await page.screenshot(path=str(artifacts(tmp_path) / "dashboard-site.png"), full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing cut off
        await page.screenshot(path=str(artifacts(tmp_path) / "dashboard-site-phone.png"), full_page=True)
        wide = await page.evaluate("""[...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map((e) => e.tagName + '.' + e.className)""")
        assert wide == [], wide
        assert errors == []
        assert (await system.storage.scans.count()) >= 3
