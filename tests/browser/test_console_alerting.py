"""Alerting in the console, in real Chromium: a rule built in the page with a webhook channel whose Test
button sends a real notification to a local receiver (through the notifier's sender and address guard);
the site going down raises an alert that is acknowledged and resolved from the inbox, its change opens to
its evidence and its scans; a silence added in the page mutes the next outage (recorded, nobody told)."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, expect
from tests.browser.console import SHOP_HTML, needs_chromium, running_console, shop
from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite

from techscaniq.settings import Settings

pytestmark = [needs_chromium, pytest.mark.browser]


@pytest.mark.timeout(90)
async def test_rule_with_a_tested_webhook_inbox_actions_and_a_silence(
    settings: Settings, local_site: LocalSite, site_factory: SiteFactory, browser: Browser
) -> None:
    receiver = await site_factory()
    receiver.route("/hook", body="ok", content_type="text/plain")
    local_site.route("/", status=503, body="<h1>Back soon</h1>")
    async with running_console(settings, browser) as console:
        system, page = console.system, console.page
        config_id = await system.add_monitoring_config(shop(local_site.url("/"), "Flaky shop"))
        await console.sign_in()
        await console.go(f"#/site/{config_id}")
        await expect(page.locator("#rules")).to_contain_text("No alert rules")  # the page has loaded

        rule_form = page.locator("#rule-form")
        await rule_form.get_by_label("Rule name").fill("Site down")
        await rule_form.get_by_label("Changes of type").select_option("availability")
        await rule_form.get_by_label("Minimum impact").select_option("low")
        await rule_form.get_by_label("Alert severity").select_option("critical")
        await rule_form.get_by_label("Add a channel").select_option("webhook")
        await rule_form.get_by_role("button", name="Add channel").click()
        await rule_form.get_by_label("Webhook URL").fill(receiver.url("/hook"))
        await rule_form.get_by_label("Signing secret (optional)").fill("hook-signing-secret")
        await rule_form.get_by_role("button", name="Save rule").click()
        rule_row = page.locator("#rules li.rule", has_text="Site down")
        await expect(rule_row).to_contain_text(
            "availability changes of impact low or more → critical alert via webhook")
        [rule] = (await system.get_monitoring_config(config_id)).alert_rules
        assert rule.conditions.type.value == "availability" and rule.severity.value == "critical"

        await rule_row.get_by_role("button", name="Test Site down").click()
        await expect(rule_row.locator(".test-result.ok")).to_have_text("webhook #1: delivered")
        [test_request] = [r for r in receiver.requests if r.path == "/hook"]
        assert "Test notification" in json.dumps(json.loads(test_request.body))
        assert test_request.headers["x-techscaniq-signature"]  # signed with the secret typed in the page
        assert await system.storage.alerts.find(organization_id="org-console") == []  # a test stores no alert

        # Two failed scans in a row: the site is down, the rule raises an alert and the webhook gets it.
        await system.scan_now(config_id, wait=True)
        await console.go("#/inbox")
        alert_row = page.locator("#ib-alerts li.alert-row", has_text="Flaky shop")
        await expect(alert_row.locator(".pill")).to_have_text("triggered", timeout=15_000)
        await alert_row.get_by_role("button", name="Deliveries").click()
        await expect(alert_row.locator(".nested .pill.ok")).to_have_text("delivered", timeout=10_000)
        await alert_row.get_by_role("button", name="Acknowledge", exact=False).click()
        await expect(alert_row.locator(".pill").first).to_have_text("acknowledged")
        await alert_row.get_by_role("button", name="Resolve", exact=False).click()
        await expect(alert_row.locator(".pill").first).to_have_text("resolved")
        [alert] = await system.storage.alerts.find(organization_id="org-console")
        assert alert.status.value == "resolved" and alert.acknowledged_at is not None

        # The change opens to its evidence and links to the scans it compares.
        change_row = page.locator("#ib-changes li.change-row", has_text="Flaky shop").first
        await change_row.get_by_role("button", name="Evidence", exact=False).click()
        dialog = page.locator("#change-dialog")
        await expect(dialog).to_contain_text("consecutive_failures")
        await dialog.get_by_role("link", name="this scan").click()
        await expect(page.locator("#scan-detail")).to_contain_text("HTTP 503")

        # A silence for the site: the next outage is recorded as an alert, nobody is notified.
        await console.go("#/alerting")
        silence_form = page.locator("#silence-form")
        await silence_form.get_by_label("Site").select_option(label="Flaky shop")
        await silence_form.get_by_label("For (hours)").fill("2")
        await silence_form.get_by_label("Comment").fill("moving the shop")
        await silence_form.get_by_role("button", name="Add silence").click()
        await expect(page.locator("#silences li")).to_contain_text(["Flaky shop: silenced until"])
        hooks_before = len([r for r in receiver.requests if r.path == "/hook"])
        local_site.route("/", body=SHOP_HTML)
        await system.scan_now(config_id, wait=True)  # up again
        local_site.route("/", status=503, body="<h1>Back soon</h1>")
        for _ in range(2):
            await system.scan_now(config_id, wait=True)  # down again, inside the silence
        await console.go("#/inbox")
        await expect(page.locator("#ib-alerts li.alert-row", has_text="silenced: nobody was notified")).to_have_count(
            1, timeout=15_000)
        assert len([r for r in receiver.requests if r.path == "/hook"]) == hooks_before
        console.assert_no_errors()
