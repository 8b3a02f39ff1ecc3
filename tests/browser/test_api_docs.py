"""/docs (Swagger UI) and /redoc (ReDoc) render the OpenAPI 3.1 document in real Chromium with every request
to another host refused: the pages, their scripts and styles come from the package, not from a CDN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run scripts/install_browser.sh (Debian chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        await launched.close()


async def offline_page(browser: Browser, origin: str) -> tuple[Page, list[str], list[str]]:
    """A page whose requests to any other origin are aborted and recorded, with its errors recorded."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    errors: list[str] = []

    async def only_this_origin(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == origin:
            await route.continue_()
        else:
            refused.append(url)
            await route.abort()

    await page.route("**/*", only_this_origin)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return page, refused, errors


@pytest.mark.timeout(120)
async def test_swagger_ui_and_redoc_render_the_operations_offline(settings: Settings, browser: Browser) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        origin = f"http://127.0.0.1:{system.ports['api']}"

        page, refused, errors = await offline_page(browser, origin)
        await page.goto(f"{origin}/docs")
        await expect(page.locator(".opblock-summary-path", has_text="/api/v1/configs").first).to_be_visible(
            timeout=30_000)
        assert await page.locator(".opblock").count() > 20  # every operation, not an error box
        await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
        assert not refused and not errors, (refused, errors)

        page, refused, errors = await offline_page(browser, origin)
        await page.goto(f"{origin}/redoc")
        await expect(page.get_by_role("heading", name="Add a config (the guide's format)").first).to_be_attached(
            timeout=30_000)
        await expect(page.get_by_text("Something went wrong")).to_have_count(0)
        assert await page.locator("[data-section-id^='operation/']").count() > 20
        # ReDoc's sidebar shows a "powered by" logo from its CDN: the page's policy refuses it before any
        # request is made (so `refused` stays empty), and the page does not need it.
        errors = [e for e in errors if not e.startswith("Loading the image 'https://cdn.redoc.ly/")]
        assert not refused and not errors, (refused, errors)
