"""People and access in real Chromium: first-run setup from the banner's link, an invitation (made in the
console's Access section) accepted by a second person who then works with their (read-only) role, signing
in with email and password, and single sign-on set up in the console against a real OpenID Connect
provider on loopback. No token ever sits in the page's storage."""

from __future__ import annotations

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


@pytest.mark.timeout(120)
async def test_setup_invite_sign_in_and_single_sign_on(settings: Settings, browser: Browser) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        base = f"http://localhost:{system.ports['api']}"
        owner_page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        owner_page.on("pageerror", lambda error: errors.append(str(error)))

        link = await setup_link(system.api_services)
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

        await owner_page.get_by_role("link", name="Access").click()  # the console's Access section
        await owner_page.get_by_label("Email", exact=True).fill("viewer@example.com")
        await owner_page.locator("#iv-role").select_option("viewer")
        await owner_page.get_by_role("button", name="Create invitation link").click()
        guest = await (await browser.new_context()).new_page()
        await guest.goto(await owner_page.locator("#iv-result-value").input_value())
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
            await owner_page.get_by_label("Issuer").fill(provider.issuer)
            await owner_page.get_by_label("Client id").fill(provider.client_id)
            await owner_page.get_by_label("Client secret").fill(provider.client_secret)
            await owner_page.get_by_label("Role map (one per line: claim value = role)").fill(
                "monitoring-editors = editor")
            await owner_page.get_by_role("button", name="Save single sign-on").click()
            login_url = owner_page.locator("#sso-login-url")
            await expect(login_url).to_have_text(f"{base}/api/v1/sso/acme/login")
            await expect(owner_page.locator("#sso-redirect-uri")).to_have_text(f"{base}/api/v1/sso/callback")
            await expect(owner_page.locator("#sso-client-secret")).to_have_value("**********")  # never shown again
            sso = await (await browser.new_context()).new_page()
            await sso.goto(await login_url.get_attribute("href") or "")
            await sso.locator("input[name=login]").fill("erin")
            await sso.locator("input[name=password]").fill("any password")
            await sso.locator("button[type=submit]").click()
            await sso.locator("button[type=submit]").click()  # the provider's consent page
            await expect(sso.get_by_role("heading", name="Monitored sites")).to_be_visible()
            await expect(sso.locator("#org-name")).to_have_text("acme")  # an editor: not read only
            await expect(sso.locator("#sf-submit")).to_be_enabled()
        assert errors == []
