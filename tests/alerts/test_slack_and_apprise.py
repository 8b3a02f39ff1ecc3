"""Slack (Block Kit through an incoming webhook) and Apprise, each against a real loopback receiver."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import DeliveryStatus
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, HttpReceiver, make_change, make_config


async def alert_through(
    storage: SqlStorage, settings: Settings, clock: Clock, channel: dict[str, Any], **rule: Any
) -> MonitoringConfig:
    config = make_config(
        AlertRule.model_validate({"id": "r1", "name": "Outage", "severity": "critical",
                                  "notification_channels": [channel], **rule})
    )
    await storage.configs.add(config, next_run_at=None)
    changes = [
        make_change("s1", subject="site", change_type="down", kind=ChangeKind.AVAILABILITY, impact=Impact.CRITICAL),
        make_change("s1", subject="<!channel> <https://evil.example|click>", impact=Impact.HIGH),
    ]
    await AlertEngine(storage, settings, clock=clock).handle_changes(config, changes)
    return config


async def test_slack_gets_a_block_kit_message_with_severity_colour_changes_and_link(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    channel = {"type": "slack", "webhook_url": f"{receiver.url}/services/T0/B0/XYZ", "channel": "#ops",
               "username": "TechScanIQ", "icon_emoji": ":warning:"}
    await alert_through(storage, settings, clock, channel)

    assert await notifier.deliver_due() == 1

    [request] = receiver.requests
    assert request.path == "/services/T0/B0/XYZ" and request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["channel"] == "#ops" and payload["username"] == "TechScanIQ"
    assert payload["icon_emoji"] == ":warning:"
    assert payload["text"] == "[CRITICAL] Shop — Site down and 1 more change"
    [attachment] = payload["attachments"]
    assert attachment["color"] == "#8b0000"
    kinds = [block["type"] for block in attachment["blocks"]]
    assert kinds[0] == "header" and "section" in kinds
    text = str(attachment["blocks"])
    assert "Site down (impact critical)" in text
    assert "<https://shop.example/|Shop>" in text  # the link to the monitored site
    # Untrusted subjects cannot ping the channel or smuggle a link.
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_apprise_urls_deliver_through_the_apprise_library(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    await alert_through(storage, settings, clock, {"type": "apprise", "urls": [f"json://127.0.0.1:{receiver.port}/ntfy"]})

    assert await notifier.deliver_due() == 1

    [request] = receiver.requests
    body = request.json()
    assert request.path == "/ntfy"
    assert body["title"] == "[CRITICAL] Shop — Site down and 1 more change"
    assert body["message"].startswith("Site down and 1 more change\n")
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_apprise_failures_are_retried_secrets_unlogged_and_unknown_schemes_dead(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.default_status = 503
    secret_url = f"json://user:PASSW0RDX@127.0.0.1:{receiver.port}/SECRETPATH?token=QTOKEN"
    await alert_through(storage, settings, clock, {"type": "apprise", "urls": [secret_url]})
    caplog.set_level(logging.DEBUG)
    await notifier.deliver_due()
    [failing] = await storage.deliveries.find()
    assert failing.status is DeliveryStatus.FAILED and len(receiver.requests) == 1
    for secret in ("PASSW0RDX", "SECRETPATH", "QTOKEN"):
        assert secret not in caplog.text and secret not in failing.model_dump_json()

    other = make_config(
        AlertRule.model_validate({"id": "r2", "name": "Other",
                                  "notification_channels": [{"type": "apprise", "urls": ["nosuchscheme://secret"]}]}),
        config_id="cfg-2",
    )
    await storage.configs.add(other, next_run_at=None)
    await AlertEngine(storage, settings, clock=clock).handle_changes(other, [make_change("s9", config_id="cfg-2")])
    await notifier.deliver_due()
    [dead] = await storage.deliveries.find(status="dead")
    assert dead.last_error is not None and "not recognised" in dead.last_error and "secret" not in dead.last_error
