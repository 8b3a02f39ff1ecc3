"""The product's promise in one test: a site changes, the system notices, the right people are told.

Real local sites, real SQLite, the real scanner with our own fingerprints, a real webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.domain.alert import AlertStatus, DeliveryStatus
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

PAGE = "<html><head><title>Shop</title></head><body><h1>Shop</h1>{scripts}</body></html>"
JQUERY = '<script src="/static/js/jquery-3.6.0.min.js"></script>'
SECRET = "whsec-test-key"


def config(site_url: str, hook_url: str) -> dict[str, Any]:
    return {
        "organization_id": "org-e2e",
        "name": "Shop",
        "url": site_url,
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {"technologies": True, "performance": True, "security": True},
        "alert_rules": [
            {
                "id": "tech-change-alert",
                "name": "Technology Change Alert",
                "conditions": {"type": "technology", "change_types": ["added", "removed"], "min_impact": "low"},
                "severity": "medium",
                "notification_channels": [{"type": "webhook", "url": hook_url, "secret": SECRET}],
                "throttle_minutes": 60,
            }
        ],
    }


async def shop_and_receiver(site_factory: SiteFactory) -> tuple[LocalSite, LocalSite]:
    """A shop without jQuery yet (it is one route away) and a webhook receiver answering 204 at /hook."""
    shop = await site_factory()
    shop.route("/", body=PAGE.format(scripts=""))
    shop.route("/static/js/jquery-3.6.0.min.js", body="/*! jQuery v3.6.0 */", content_type="application/javascript")
    receiver = await site_factory()
    receiver.route("/hook", status=204)
    return shop, receiver


async def test_a_technology_added_to_a_site_reaches_the_webhook_once(
    settings: Settings, site_factory: SiteFactory
) -> None:
    shop, receiver = await shop_and_receiver(site_factory)

    async with MonitoringSystem(settings, serve_http=False) as system:
        config_id = await system.add_monitoring_config(config(shop.url("/"), receiver.url("/hook")))

        async def first_scan_done() -> bool:
            scans = await system.storage.scans.find(config_id=config_id)
            return bool(scans) and (await system.storage.scans.pending("changes")) == []

        await eventually(first_scan_done)
        assert await system.storage.changes.find(config_id=config_id) == []  # a baseline is not a change

        shop.route("/", body=PAGE.format(scripts=JQUERY))
        scan = await system.scan_now(config_id, wait=True)
        assert isinstance(scan, ScanResult)
        assert any(t.name == "jQuery" and t.version == "3.6.0" for t in scan.technologies)

        async def webhook_called() -> bool:
            return any(r.path == "/hook" for r in receiver.requests)

        await eventually(webhook_called)
        changes = await system.storage.changes.find(config_id=config_id)
        assert [(c.type, c.change_type, c.subject) for c in changes] == [
            (ChangeKind.TECHNOLOGY, "added", "jQuery")
        ]
        alerts = await system.storage.alerts.find(organization_id="org-e2e")
        assert len(alerts) == 1 and alerts[0].status is AlertStatus.TRIGGERED

        async def delivered() -> bool:
            deliveries = await system.storage.deliveries.list_for_alert(alerts[0].id)
            return [d.status for d in deliveries] == [DeliveryStatus.DELIVERED]

        await eventually(delivered)

        # Scanning the unchanged site again changes nothing and notifies nobody again.
        await system.scan_now(config_id, wait=True)
        await eventually(lambda: _nothing_pending(system))

    hooks = [r for r in receiver.requests if r.path == "/hook"]
    assert len(hooks) == 1
    request = hooks[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-techscaniq-signature"] == expected
    payload = json.loads(request.body)
    assert payload["schema"] == "techscaniq.alert.v1"
    assert payload["monitor"]["config_id"] == config_id
    assert [(c["change_type"], c["subject"]) for c in payload["changes"]] == [("added", "jQuery")]


async def _nothing_pending(system: MonitoringSystem) -> bool:
    return not await system.storage.scans.pending("changes") and not await system.storage.scans.pending("alerts")


async def test_scans_stored_before_a_crash_are_compared_and_alerted_after_restart(
    settings: Settings, site_factory: SiteFactory
) -> None:
    """The in-process bus loses queued events when the process dies: the restart finishes the work."""
    shop, receiver = await shop_and_receiver(site_factory)

    # A first life: two scans are stored, but the process "dies" before their stages run.
    first = MonitoringSystem(settings, serve_http=False)
    await first.storage.start()
    config_id = await first.add_monitoring_config(config(shop.url("/"), receiver.url("/hook")))
    await first.storage.configs.update(await first.get_monitoring_config(config_id), next_run_at=None)
    for scripts in ("", JQUERY):
        shop.route("/", body=PAGE.format(scripts=scripts))
        scan, body = await first.scanner.scan(await first.get_monitoring_config(config_id))
        assert await first.storage.scans.add(scan, body)
    await first.fetcher.aclose()
    await first.storage.close()
    assert receiver.requests == []

    async with MonitoringSystem(settings, serve_http=False) as system:
        async def webhook_called() -> bool:
            return any(r.path == "/hook" for r in receiver.requests)

        await eventually(webhook_called)
        changes = await system.storage.changes.find(config_id=config_id)
        assert [(c.change_type, c.subject) for c in changes] == [("added", "jQuery")]
        await eventually(lambda: _nothing_pending(system))
    assert len([r for r in receiver.requests if r.path == "/hook"]) == 1
