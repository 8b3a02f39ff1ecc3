"""The site page shows the TLS grade in real Chromium: a real HTTPS site (TLS 1.2 only, a 1024-bit DH group
for its DHE suite) is scanned and rated, and its page says the grade and the cap that set it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from tests.browser.console import SHOP_HTML, needs_chromium, running_console, shop
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite
from tests.support.tls_servers import tls_server_context

from techscaniq.settings import Settings

pytestmark = [needs_chromium, pytest.mark.browser]


@pytest.mark.timeout(90)
async def test_the_site_page_shows_the_tls_grade(tls_settings: Settings, test_ca: TestCA, browser: Browser) -> None:
    context = tls_server_context(test_ca, versions=("TLSv1_2", "TLSv1_2"),
                                 ciphers="DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", dh_bits=1024)
    async with LocalSite(ssl_context=context) as site, running_console(tls_settings, browser) as console:
        site.route("/", body=SHOP_HTML)
        await console.system.add_monitoring_config(shop(site.url("/"), "TLS shop"))  # scanned at once
        await console.sign_in()
        page = console.page
        await expect(page.locator(".site-card", has_text="TLS shop").locator(".pill.ok")).to_be_visible(timeout=30_000)
        await page.locator(".site-card", has_text="TLS shop").click()
        await expect(page.locator("#tls-grade-now")).to_contain_text("TLS B — score", timeout=15_000)
        await expect(page.locator("#tls-grade-now")).to_contain_text("1024-bit DH group")
        console.assert_no_errors()
