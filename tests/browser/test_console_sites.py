"""The console's sites in real Chromium: a 503 (and a 404) site shown down in red and never "all up"; a site
that stops answering keeps its last grade; adding with the https:// offer and the duplicate warning, a cron
schedule with its next runs, editing, cloning (rules and secrets copied server side), filtering by
technology and tag, and deleting with a confirmation that says what happens to the history."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect
from tests.browser.console import SHOP_HTML, needs_chromium, running_console, shop
from tests.support.testsite import LocalSite

from techscaniq.settings import Settings

pytestmark = [needs_chromium, pytest.mark.browser]


@pytest.mark.timeout(90)
async def test_a_site_answering_503_or_404_is_shown_down_in_red_everywhere(
    settings: Settings, local_site: LocalSite, browser: Browser
) -> None:
    local_site.route("/", body=SHOP_HTML)
    local_site.route("/maintenance", status=503, body="<h1>Back soon</h1>")
    local_site.route("/gone", status=404, body="<h1>Not found</h1>")
    async with running_console(settings, browser) as console:
        system = console.system
        added = {}
        for name, path in (("Healthy", "/"), ("Maintenance", "/maintenance"), ("Gone", "/gone")):
            added[name] = await system.add_monitoring_config(shop(local_site.url(path), name))  # scanned at once
        await console.sign_in()
        page = console.page
        maintenance = page.locator(".site-card", has_text="Maintenance").locator(".pill")
        await expect(maintenance).to_have_text("down · HTTP 503", timeout=15_000)
        await expect(maintenance).to_have_class("pill bad")
        await expect(page.locator(".site-card", has_text="Gone").locator(".pill.bad")).to_have_text("down · HTTP 404",
                                                                                                   timeout=15_000)
        await expect(page.locator(".site-card", has_text="Healthy").locator(".pill.ok")).to_have_text("up · HTTP 200",
                                                                                                      timeout=15_000)
        await expect(page.locator("#sites-summary")).to_have_text("3 sites · 2 down · 1 up")

        await page.get_by_role("search", name="Find sites").get_by_label("Status").select_option("down")
        await expect(page.locator(".site-card")).to_have_count(2)
        await page.get_by_role("search", name="Find sites").get_by_label("Status").select_option("")

        await page.locator(".site-card", has_text="Maintenance").click()
        await expect(page.locator("#site-status .pill.bad")).to_have_text("down · HTTP 503")
        await expect(page.locator("#uptime dd").first).to_have_text("0%")  # 24 h: every scan was down
        await expect(page.locator("#heartbeat .beat.down").first).to_be_visible()
        await expect(page.locator("#heartbeat .beat.up")).to_have_count(0)

        # The portfolio answers "who runs WordPress below 6.5" with the search query language and its facets.
        await console.go("#/portfolio")
        finder = page.get_by_role("search", name="Sites by technology and version")
        await finder.get_by_label("Query (tech, version, category, grade, tag, …)").fill("tech:WordPress version:<6.5")
        await finder.get_by_role("button", name="Find").click()
        await expect(page.locator("#pf-query-summary")).to_have_text("1 site match")
        await expect(page.locator(".found-site")).to_have_text(re.compile(r"^Healthy.*WordPress 6\.4\.2"))
        await expect(page.locator("#pf-versions")).to_contain_text("WordPress 6.4.2")
        await finder.get_by_label("Query (tech, version, category, grade, tag, …)").fill("tech:WordPress version:>=6.5")
        await finder.get_by_role("button", name="Find").click()
        await expect(page.locator("#pf-query-summary")).to_have_text("0 sites match")
        await expect(page.locator(".found-site")).to_have_count(0)
        await finder.get_by_label("Query (tech, version, category, grade, tag, …)").fill("grade:<Z")
        await finder.get_by_role("button", name="Find").click()
        await expect(page.locator("#pf-query-error")).to_contain_text("q: grade: 'Z' is not a grade")

        # A site that stops answering keeps the grade of its last graded scan (not "no grade"), marked earlier.
        healthy_id = added["Healthy"]
        graded = (await system.storage.scans.latest([healthy_id]))[healthy_id]
        assert graded.security is not None
        await console.go("#/")
        healthy = page.locator(".site-card", has_text="Healthy")
        await expect(healthy.locator(".grade")).to_have_text(graded.security.grade)
        local_site.route("/", raw=b"")  # the connection closes unanswered: a failed scan, nothing to grade
        await system.scan_now(healthy_id, wait=True)
        await expect(healthy.locator(".pill.bad")).to_contain_text("down")  # the live update
        for _ in range(2):  # as the live update left it, then as the overview answers it
            badge = healthy.locator(".grade")
            await expect(badge).to_have_text(graded.security.grade)
            await expect(badge).to_have_class(re.compile(r"\bearlier\b"))
            await expect(badge).to_have_attribute("aria-label", re.compile("from the last graded scan"))
            await healthy.click()
            await expect(page.locator("#site-grade")).to_have_text(graded.security.grade)
            await console.go("#/")
        console.assert_no_errors(422)  # the refused portfolio query (422), shown under its field


@pytest.mark.timeout(90)
async def test_add_edit_clone_filter_and_delete_a_site(
    settings: Settings, local_site: LocalSite, browser: Browser
) -> None:
    local_site.route("/", body=SHOP_HTML, headers=[("Server", "nginx/1.25.3")])
    local_site.route("/blog", body="<html><head><title>Blog</title></head><body>plain</body></html>")
    async with running_console(settings, browser) as console:
        system, page = console.system, console.page
        existing = await system.add_monitoring_config(shop(local_site.url("/blog"), "Blog", tags=["content"]))
        await system.scan_now(existing, wait=True)
        await console.sign_in()

        form = page.locator("#site-form")
        await form.get_by_label("URL", exact=True).fill("example.com")
        await form.get_by_role("button", name="Use https://example.com").click()
        await expect(form.get_by_label("URL", exact=True)).to_have_value("https://example.com")
        await form.get_by_label("URL", exact=True).fill(local_site.url("/blog"))
        await expect(page.locator("#sf-url-hint")).to_contain_text("Already monitored as “Blog”")

        await form.get_by_label("Site name").fill("Local shop")
        await form.get_by_label("URL", exact=True).fill(local_site.url("/"))
        await form.get_by_label("Tags").fill("shop, client-a")
        await form.get_by_label("Kind").select_option("cron")
        await form.get_by_label("Cron expression").fill("30 9 * * 1-5")
        await form.get_by_label("Time zone").fill("Europe/Paris")
        await expect(page.locator("#sf-preview time")).to_have_count(3)
        await expect(page.locator("#sf-preview time").first).to_contain_text("(Europe/Paris)")
        await expect(page.locator("#sf-preview time").first).to_contain_text("9:30")
        await form.get_by_label("Cron expression").fill("61 * * * *")
        await expect(page.locator("#sf-preview.error")).to_contain_text("expression")
        await form.get_by_label("Cron expression").fill("30 9 * * 1-5")
        await form.get_by_role("button", name="Add and scan now").click()
        card = page.locator(".site-card", has_text="Local shop")
        await expect(card.locator(".pill.ok")).to_have_text("up · HTTP 200", timeout=20_000)
        [created] = [c for c in await system.list_monitoring_configs("org-console") if c.name == "Local shop"]
        assert created.tags == ["shop", "client-a"]
        assert (created.schedule.type.value, created.schedule.expression, created.schedule.timezone) == (
            "cron", "30 9 * * 1-5", "Europe/Paris")

        # Filter by technology and by tag, then search.
        toolbar = page.get_by_role("search", name="Find sites")
        await toolbar.get_by_label("Technology", exact=True).select_option("WordPress")
        await expect(page.locator(".site-card")).to_have_count(1)
        await expect(card).to_be_visible()
        await page.get_by_role("search", name="Find sites").get_by_label("Technology", exact=True).select_option("")
        await page.get_by_role("search", name="Find sites").get_by_label("Tag", exact=True).select_option("content")
        await expect(page.locator(".site-card h3")).to_have_text(["Blog"])
        await page.get_by_role("search", name="Find sites").get_by_label("Tag", exact=True).select_option("")
        await page.get_by_role("search", name="Find sites").get_by_label("Search sites").fill("client-a")
        await expect(page.locator(".site-card")).to_have_count(1)
        await page.get_by_role("search", name="Find sites").get_by_label("Search sites").fill("")

        # Edit: rename, and the site page shows the next run with its time zone.
        await system.update_monitoring_config(created.id, {"alert_rules": [{
            "name": "Hook", "notification_channels": [{"type": "webhook", "url": local_site.url("/hook"),
                                                       "secret": "s3cret-signing-key"}]}]})
        await card.click()
        await expect(page.locator("#site-status")).to_contain_text("(Europe/Paris)")
        await page.get_by_role("button", name="Edit", exact=True).click()
        await page.locator("#site-form").get_by_label("Site name").fill("Local shop EU")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("heading", name="Local shop EU")).to_be_visible()
        assert (await system.get_monitoring_config(created.id)).name == "Local shop EU"

        # Clone: a new config with the rule and its (masked in the page) secrets.
        await page.get_by_role("button", name="Clone", exact=True).click()
        await expect(page.locator("#site-form").get_by_label("Site name")).to_have_value("Local shop EU (copy)")
        await page.get_by_role("button", name="Add the copy").click()
        await expect(page.get_by_role("heading", name="Local shop EU (copy)")).to_be_visible()
        [copy] = [c for c in await system.list_monitoring_configs("org-console") if c.name.endswith("(copy)")]
        assert copy.id != created.id and copy.tags == ["shop", "client-a"]
        channel = copy.alert_rules[0].notification_channels[0]
        assert channel.secret is not None and channel.secret.get_secret_value() == "s3cret-signing-key"

        # Delete the copy: the confirmation says what happens to the history; cancel keeps it.
        await page.get_by_role("button", name="Delete", exact=True).click()
        dialog = page.locator("#confirm-dialog")
        await expect(dialog).to_contain_text("stay in the history")
        await expect(dialog).to_contain_text("1 alert rule(s) are removed")
        await dialog.get_by_role("button", name="Cancel").click()
        assert await system.storage.configs.get(copy.id) is not None
        await page.get_by_role("button", name="Delete", exact=True).click()
        await dialog.get_by_role("button", name="Delete site").click()
        await expect(page.get_by_role("heading", name="Monitored sites")).to_be_visible()
        await expect(page.locator(".site-card", has_text="(copy)")).to_have_count(0)
        assert await system.storage.configs.get(copy.id) is None
        console.assert_no_errors(422)  # the refused cron expression
