"""The browser fixture of the dashboard tests: one headless Chromium per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright
from tests.browser.console import CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        await launched.close()
