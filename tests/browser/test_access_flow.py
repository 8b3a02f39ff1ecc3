"""People and access in real Chromium: first-run setup from the banner's link, an invitation accepted by a
second person who then works with their (read-only) role, signing in with email and password, and single
sign-on through a real OpenID Connect provider on loopback. No token ever sits in the page's storage."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from tests.browser.console import CHROMIUM
from tests.support.oidc_provider import oidc_provider

from techscaniq.accounts.first_run import setup_link
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run scripts/install_browser.sh (Debian chromium)")
PASSWORD = "owner password 0123"


async def nothing_stored(page: Page) -> None:
    stored = await page.evaluate("JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage)])")
    assert stored == "[[],[]]"
    assert "techscaniq_session" not in await page.evaluate("document.cookie")  # HttpOnly: not readable


async def api_from_page(page: Page, method: str, path: str, body: dict[str, Any]) -> Any:
    """What the console's members page will do (a later step): the signed-in page calls the API itself."""
    return await page.evaluate("""async ([method, path, body]) => {
        const session = await (await fetch("/api/v1/session")).json();
        const response = await fetch(path, { method, body: JSON.stringify(body), headers: {
            "Content-Type": "application/json", "X-CSRF-Token": session.csrf_token } });
        return await response.json(); }""", [method, path, body])


@pytest.mark.timeout(120)
async def test_setup_invite_sign_in_and_single_sign_on(settings: Settings, browser: Browser) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        base = f"http://localhost:{system.ports['api']}"
        owner_page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        owner_page.on("pageerror", lambda error: errors.append(str(error)))

        link = await setup_link(system)
        assert link is not None and link.startswith(base)
        await owner_page.goto(link)
        assert "#token=" not in owner_page.url  # the token left the address bar at once
        await owner_page.get_by_label("Organization name").fill("Acme")
        await owner_page.get_by_label("Your email").fill("owner@example.com")
        await owner_page.get_by_label("Password").fill(PASSWORD)
        await owner_page.get_by_role("button", name="Create owner").click()
        await expect(owner_page.get_by_role("heading", name="Monitored sites")).to_be_visible()
        await expect(owner_page.locator("#live")).to_have_class("live on")  # the WebSocket, on the cookie
        await nothing_stored(owner_page)

        invitation = await api_from_page(owner_page, "POST", "/api/v1/invitations",
                                         {"email": "viewer@example.com", "role": "viewer"})
        guest = await (await browser.new_context()).new_page()
        await guest.goto(invitation["link"])
        await guest.get_by_label("Password (at least 10 characters)").fill("viewer password 0123")
        await guest.get_by_role("button", name="Continue").click()
        await expect(guest.get_by_role("heading", name="Monitored sites")).to_be_visible()
        await expect(guest.locator("#org-name")).to_have_text("acme (read only)")
        await expect(guest.locator("#sf-submit")).to_be_disabled()

        await guest.get_by_role("button", name="Sign out").click()
        await expect(guest.get_by_role("heading", name="Sign in to TechScanIQ")).to_be_visible()
        await guest.get_by_label("Email").fill("viewer@example.com")
        await guest.get_by_label("Password").fill("not the password")
        await guest.get_by_role("button", name="Sign in").click()
        await expect(guest.locator("#login-error")).to_have_text("wrong email or password")
        await guest.get_by_label("Password").fill("viewer password 0123")
        await guest.get_by_role("button", name="Sign in").click()
        await expect(guest.locator("#org-name")).to_have_text("acme (read only)")
        await nothing_stored(guest)

        async with oidc_provider(f"{base}/api/v1/sso/callback", {"erin": ["monitoring-editors"]}) as provider:
            saved = await api_from_page(owner_page, "PUT", "/api/v1/sso", {
                "issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret,
                "role_map": {"monitoring-editors": "editor"}})
            sso = await (await browser.new_context()).new_page()
            await sso.goto(saved["login_url"])
            await sso.locator("input[name=login]").fill("erin")
            await sso.locator("input[name=password]").fill("any password")
            await sso.locator("button[type=submit]").click()
            await sso.locator("button[type=submit]").click()  # the provider's consent page
            await expect(sso.get_by_role("heading", name="Monitored sites")).to_be_visible()
            await expect(sso.locator("#org-name")).to_have_text("acme")  # an editor: not read only
            await expect(sso.locator("#sf-submit")).to_be_enabled()
        assert errors == []
