"""The console's Access section in real Chromium, without curl: an owner invites a person (the invitation is
pending until accepted; another one, revoked, stops working), changes their role
and finds it in the audit log, creates an API key (shown once; it works) and revokes it (it stops working),
is told which field of the single sign-on form is wrong, turns the TOTP second factor on and off; the
invited person (viewer, then editor) sees only their own account, switches to a second organization
they belong to, and signs out everywhere. The audit log is searched by who and route. axe-core finds no
serious violation on the page."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, Page, expect
from tests.browser.console import AXE, Console, needs_chromium, overflowing, serious_violations

from techscaniq.accounts.first_run import setup_link
from techscaniq.domain.common import utcnow
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

pytestmark = [needs_chromium, pytest.mark.browser]
OWNER, GUEST, LATE = "owner@example.com", "guest@example.com", "late@example.com"


async def watched(browser: Browser, system: MonitoringSystem) -> Console:
    """A page in its own browser context (its own cookies) that records every script error."""
    page = await (await browser.new_context()).new_page()
    console = Console(system, page)
    page.on("pageerror", lambda error: console.errors.append(str(error)))
    page.on("console", lambda message: console.errors.append(message.text) if message.type == "error" else None)
    return console


async def confirm(page: Page, button: str) -> None:
    await expect(page.locator("#confirm-dialog")).to_be_visible()
    await page.locator("#confirm-ok").filter(has_text=button).click()


async def admin_parts_hidden(page: Page) -> None:
    for heading in ("Members", "Invite someone", "API keys", "Audit log", "Single sign-on (OpenID Connect)"):
        await expect(page.get_by_role("heading", name=heading)).to_be_hidden()


@pytest.mark.skipif(not AXE.exists(), reason="run scripts/install_axe.sh (axe-core from npm)")
@pytest.mark.timeout(120)
async def test_owner_manages_people_and_keys_in_the_console(settings: Settings, browser: Browser) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        owner = await watched(browser, system)
        page = owner.page
        await page.goto(await setup_link(system.api_services) or "")
        await page.get_by_label("Organization name").fill("Acme")
        await page.get_by_label("Your email").fill(OWNER)
        await page.get_by_label("Password").fill("owner password 0123")
        await page.get_by_role("button", name="Create owner").click()
        await expect(page.get_by_role("heading", name="Monitored sites")).to_be_visible()
        await page.get_by_role("link", name="Access").click()
        await expect(page.locator("#access-summary")).to_contain_text("You are owner of acme")

        # An invitation: the link is shown once, and it lets the person in with the chosen role.
        await page.get_by_label("Email", exact=True).fill(GUEST)
        await page.locator("#iv-role").select_option("viewer")
        await page.get_by_role("button", name="Create invitation link").click()
        link = await page.locator("#iv-result-value").input_value()
        assert link.startswith(f"{owner.base.replace('127.0.0.1', 'localhost')}/static/accept.html#invite=")
        await expect(page.locator(".invitation-row", has_text=GUEST).locator(".pill")).to_have_text("viewer")
        await page.get_by_label("Email", exact=True).fill(LATE)
        await page.locator("#iv-role").select_option("editor")
        await page.get_by_role("button", name="Create invitation link").click()
        late_link = await page.locator("#iv-result-value").input_value()
        await expect(page.locator(".invitation-row")).to_have_count(2)
        guest = await watched(browser, system)
        await guest.page.goto(link)
        await guest.page.get_by_label("Password (at least 10 characters)").fill("guest password 0123")
        await guest.page.get_by_role("button", name="Continue").click()
        await expect(guest.page.locator("#org-name")).to_have_text("acme (read only)")
        await guest.go("#/access")
        await expect(guest.page.locator("#me-who")).to_contain_text(f"{GUEST} · viewer")
        await expect(guest.page.get_by_role("button", name="Set up an authenticator app")).to_be_visible()
        await admin_parts_hidden(guest.page)

        # The accepted invitation is no longer pending; the other one, revoked, stops letting anyone in.
        await page.reload()
        await expect(page.locator(".invitation-row")).to_have_count(1)
        await page.get_by_role("button", name=f"Revoke the invitation of {LATE}").click()
        await confirm(page, "Revoke invitation")
        await expect(page.locator("#invitations")).to_contain_text("None:")
        async with httpx.AsyncClient(base_url=owner.base) as client:
            late = await client.post("/api/v1/invitations/accept", json={
                "token": late_link.split("#invite=", 1)[1], "password": "late password 0123"})
            assert late.status_code == 401

        # A role change, seen in the members list and in the audit log with who made it.
        row = page.locator(".member-row", has_text=GUEST)
        await expect(row.locator(".pill")).to_have_text("viewer")
        await row.get_by_label(f"Role of {GUEST}", exact=True).select_option("editor")
        await row.get_by_role("button", name=f"Change role of {GUEST}").click()
        await expect(row.locator(".pill")).to_have_text("editor")
        change = page.locator(".audit-row", has_text="PUT /api/v1/members/{user_id}")
        await expect(change).to_contain_text("role: editor")
        await expect(change).to_contain_text(f"user:{OWNER}")
        guest_user = await system.storage.accounts.user_by_email(GUEST)
        assert guest_user is not None
        membership = await system.storage.accounts.membership(guest_user.id, "acme")
        assert membership is not None and membership.role == "editor"

        # An API key: shown once, it works; revoked after a confirmation, it is refused.
        await page.get_by_label("Name", exact=True).fill("deploy")
        await page.locator("#key-role").select_option("editor")
        await page.get_by_role("button", name="Create key").click()
        secret = await page.locator("#key-created-value").input_value()
        async with httpx.AsyncClient(base_url=owner.base) as client:
            me = await client.get("/api/v1/auth/me", headers={"X-API-Key": secret})
            assert me.status_code == 200 and me.json()["role"] == "editor"
            await page.reload()
            key_row = page.locator(".key-row", has_text="deploy")
            await expect(key_row.locator(".last-used")).to_have_text("last used just now")
            await key_row.get_by_role("button", name="Revoke deploy").click()
            await confirm(page, "Revoke key")
            await expect(key_row).to_contain_text("revoked")
            assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": secret})).status_code == 401
        await page.get_by_label("Filter (who, action or target)").fill("api-keys")
        await expect(page.locator(".audit-row")).to_have_count(2)  # created, revoked
        await expect(page.locator(".audit-row").first).to_contain_text("DELETE /api/v1/api-keys/{key_id}")
        # The log's own filters (asked of the API): who, and a route prefix.
        await page.get_by_label("Filter (who, action or target)").fill("")
        await page.get_by_label("Who (exactly)").fill(f"user:{OWNER}")
        await page.get_by_label("Action or route starts with").fill("/api/v1/invitations")
        await page.get_by_role("button", name="Search the log").click()
        await expect(page.locator(".audit-row")).to_have_count(3)  # two invitations, one revoked
        await expect(page.locator(".audit-row").first).to_contain_text("DELETE /api/v1/invitations/{invitation_id}")

        # Single sign-on: a wrong field is named (the role map's line here, then the issuer by the API).
        await page.get_by_label("Issuer").fill("http://127.0.0.1:9/")
        await page.get_by_label("Client id").fill("techscaniq")
        await page.get_by_label("Client secret").fill("a secret")
        await page.get_by_label("Role map (one per line: claim value = role)").fill("staff = viewer\nops = boss")
        await page.get_by_role("button", name="Save single sign-on").click()
        await expect(page.locator("#sso-error")).to_have_text(
            'role map, line 2: "boss" is not a role (viewer, editor, admin, owner)')
        await page.get_by_label("Role map (one per line: claim value = role)").fill("staff = viewer")
        await page.get_by_role("button", name="Save single sign-on").click()
        await expect(page.locator("#sso-error")).to_contain_text("issuer:")

        # The owner's own second factor: QR code and key, a wrong code named, recovery codes once, then off.
        await page.get_by_role("button", name="Set up an authenticator app").click()
        await expect(page.locator("#totp-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        totp = pyotp.TOTP(await page.locator("#totp-secret").text_content() or "")
        await page.get_by_label("Code from the app", exact=True).fill(f"{(int(totp.now()) + 500_000) % 1_000_000:06d}")
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.locator("#totp-error")).to_have_text("code: not the app's current code")
        await page.get_by_label("Code from the app", exact=True).fill(totp.now())
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.locator("#totp-codes li")).to_have_count(10)
        await expect(page.locator("#totp-status")).to_contain_text("On:")
        owner_user = await system.storage.accounts.user_by_email(OWNER)
        assert owner_user is not None and owner_user.totp_enabled
        assert await serious_violations(page) == [], "access page, everything shown"
        await page.set_viewport_size({"width": 390, "height": 844})
        assert await overflowing(page) == [], "access page at phone width"
        recovery = await page.locator("#totp-codes li").first.text_content() or ""
        await page.get_by_label("Code from the app (or a recovery code) to turn it off").fill(recovery)
        await page.get_by_role("button", name="Turn off").click()
        await confirm(page, "Turn off")
        await expect(page.locator("#totp-status")).to_contain_text("Off:")
        owner.assert_no_errors(404, 422)  # no SSO yet (404); the refused issuer and code (422)

        # The guest, an editor now, still sees only their own account; signing out everywhere ends the session.
        await guest.page.reload()
        await expect(guest.page.locator("#me-who")).to_contain_text(f"{GUEST} · editor")
        await admin_parts_hidden(guest.page)
        assert await serious_violations(guest.page) == [], "access page of an editor"

        # A member of a second organization switches to it in the top bar, and works there with its role.
        await system.storage.accounts.add_organization("beta", "Beta", utcnow())
        await system.storage.accounts.set_membership(guest_user.id, "beta", "admin", utcnow())
        await guest.page.reload()
        switch = guest.page.get_by_label("Organization", exact=True)
        await expect(switch).to_have_value("acme")
        await switch.select_option("beta")
        await expect(guest.page.locator("#access-summary")).to_contain_text("You are admin of beta")
        await expect(guest.page.get_by_role("heading", name="Members")).to_be_visible()
        await expect(switch).to_have_value("beta")
        assert await serious_violations(guest.page) == [], "access page with the organization switcher"
        await guest.page.get_by_role("button", name="Sign out everywhere").click()
        await confirm(guest.page, "Sign out everywhere")
        await expect(guest.page.get_by_role("heading", name="Sign in to TechScanIQ")).to_be_visible()
        assert await system.storage.sessions.delete_of_user(guest_user.id) == []  # none was left
        guest.assert_no_errors(404)  # as admin of beta: beta has no single sign-on (404)
