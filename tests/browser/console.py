"""What the console's browser tests share: Chromium (Debian's /usr/bin/chromium through Playwright), a
running MonitoringSystem with an admin API key, a signed-in page that fails the test on any JavaScript
error, and the local sites they monitor."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ORGANIZATION = "org-console"
API_KEY = "console-key-0123456789abcdef"
SHOP_HTML = """<!doctype html><html><head><title>Shop</title>
<script src="/js/jquery-3.6.0.min.js"></script><meta name="generator" content="WordPress 6.4.2"></head>
<body><h1>Shop</h1></body></html>"""

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="run scripts/install_browser.sh (Debian chromium)")


@dataclass
class Console:
    system: MonitoringSystem
    page: Page
    errors: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.system.ports['api']}"

    async def sign_in(self, credential: str = API_KEY) -> None:
        await self.page.goto(f"{self.base}/")
        await self.page.get_by_label("API key or token").fill(credential)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.locator("#session")).to_be_visible()

    async def go(self, hash_route: str) -> None:
        await self.page.evaluate("(route) => { location.hash = route; }", hash_route)

    def assert_no_errors(self, *expected_statuses: int) -> None:
        """No script error; Chromium's "Failed to load resource" lines only for API answers the test provoked
        (a refused value the page then shows, for example)."""
        expected = {f"status of {status} " for status in expected_statuses}
        unexpected = [e for e in self.errors
                      if not (e.startswith("Failed to load resource") and any(s in e for s in expected))]
        assert unexpected == [], unexpected


def console_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": f"{ORGANIZATION}:{API_KEY}"})


@asynccontextmanager
async def running_console(settings: Settings, browser: Browser, *, width: int = 1280,
                          height: int = 900) -> AsyncIterator[Console]:
    async with MonitoringSystem(console_settings(settings), configure_logs=False) as system:
        page = await browser.new_page(viewport={"width": width, "height": height})
        console = Console(system, page)
        page.on("pageerror", lambda error: console.errors.append(str(error)))
        page.on("console", lambda message: console.errors.append(message.text) if message.type == "error" else None)
        try:
            yield console
        finally:
            await page.close()


def shop(site_url: str, name: str = "Local shop", **extra: object) -> dict[str, object]:
    """A config as the API takes it, scanning every hour (tests scan with the Scan now button)."""
    return {"organization_id": ORGANIZATION, "name": name, "url": site_url,
            "schedule": {"type": "interval", "expression": "1h", "timezone": "UTC"}, **extra}


def artifacts(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("TEST_ARTIFACTS_DIR", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page as it is now (injected through the DevTools
    protocol, which the dashboard's Content-Security-Policy does not cover)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    result = await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def overflowing(page: Page) -> list[str]:
    """Elements wider than the screen (at phone width nothing may be)."""
    return list(await page.evaluate("""[...document.querySelectorAll('main *, header *')]
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 1)
        .map((e) => e.tagName + '#' + e.id + '.' + e.className)"""))
