"""Notification channels cannot reach the server's network: every channel type aimed at an internal
address is refused before it connects, dead-lettered with reason `blocked_address`, and the receiver's
answer never reaches the organization. 127.0.0.1 plays the internal network; 127.0.0.2, listed in
NOTIFICATION_ALLOWED_NETWORKS, plays a receiver the operator allowed."""

from __future__ import annotations

from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tests.alerts.conftest import Clock, make_change, make_config
from tests.support.internal import INTERNAL_SECRET, internal_service, udp_listener
from tests.support.ports import free_port

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.domain.config import AlertRule
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

ALLOWED = "127.0.0.2"


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    return settings.model_copy(update={"notification_allowed_networks": f"{ALLOWED}/32"})



async def deliver(storage: SqlStorage, settings: Settings, channel: dict[str, Any]) -> Delivery:
    """Raise one alert whose rule notifies `channel`, run the notifier once, return the delivery."""
    clock = Clock()
    rule = AlertRule.model_validate({"id": "r1", "name": "Down", "notification_channels": [channel]})
    config = make_config(rule)
    await storage.configs.add(config, next_run_at=None)
    [alert] = await AlertEngine(storage, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    notifier = Notifier(storage, settings, clock=clock)
    try:
        assert await notifier.deliver_due() == 1
    finally:
        await notifier.aclose()
    [delivery] = await storage.deliveries.list_for_alert(alert.id)
    return delivery


def assert_blocked(delivery: Delivery) -> None:
    assert delivery.status is DeliveryStatus.DEAD, delivery.last_error
    assert delivery.log[-1]["reason"] == "blocked_address"
    assert "refusing to connect" in (delivery.last_error or "")
    assert "NOTIFICATION_ALLOWED_NETWORKS" in (delivery.last_error or "")
    assert INTERNAL_SECRET.decode() not in str(delivery.log)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://127.1:{port}/hook",
    ],
)
async def test_webhook_to_an_internal_address_never_connects(
    storage: SqlStorage, guarded: Settings, url: str
) -> None:
    async with internal_service() as internal:
        delivery = await deliver(storage, guarded, {"type": "webhook", "url": url.format(port=internal.port)})
    assert internal.connections == 0
    assert_blocked(delivery)


async def test_slack_to_an_internal_address_never_connects(storage: SqlStorage, guarded: Settings) -> None:
    async with internal_service() as internal:
        delivery = await deliver(
            storage, guarded, {"type": "slack", "webhook_url": f"http://127.0.0.1:{internal.port}/services/x"}
        )
    assert internal.connections == 0
    assert_blocked(delivery)


async def test_email_through_an_internal_smtp_host_never_connects(storage: SqlStorage, guarded: Settings) -> None:
    async with internal_service() as internal:
        delivery = await deliver(storage, guarded, {
            "type": "email", "recipients": ["ops@example.com"], "smtp_host": "127.0.0.1",
            "smtp_port": internal.port, "use_tls": False,
        })
    assert internal.connections == 0
    assert_blocked(delivery)


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:{port}/hook",
        "form://localhost:{port}/",
        "ntfy://127.0.0.1:{port}/alerts",
        "mailto://user:pass@127.0.0.1:{port}?smtp=127.0.0.1&from=a@example.com&to=b@example.com&mode=insecure",
    ],
)
async def test_apprise_schemes_toward_internal_addresses_never_connect(
    storage: SqlStorage, guarded: Settings, url: str
) -> None:
    async with internal_service() as internal:
        delivery = await deliver(storage, guarded, {"type": "apprise", "urls": [url.format(port=internal.port)]})
    assert internal.connections == 0
    assert_blocked(delivery)


async def test_apprise_udp_toward_an_internal_address_sends_nothing(storage: SqlStorage, guarded: Settings) -> None:
    async with udp_listener() as (listener, port):
        delivery = await deliver(storage, guarded, {"type": "apprise", "urls": [f"rsyslog://127.0.0.1:{port}"]})
    assert listener.datagrams == 0
    assert_blocked(delivery)


async def test_receivers_the_operator_allowed_are_reached(storage: SqlStorage, guarded: Settings) -> None:
    async with internal_service(ALLOWED) as allowed:
        webhook = await deliver(storage, guarded, {"type": "webhook", "url": f"http://{ALLOWED}:{allowed.port}/"})
        assert webhook.status is DeliveryStatus.DELIVERED, webhook.last_error
        assert allowed.connections == 1


async def test_an_allowed_smtp_relay_receives_the_mail(storage: SqlStorage, guarded: Settings) -> None:
    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    port = free_port(ALLOWED)
    controller = Controller(Handler(), hostname=ALLOWED, port=port)
    controller.start()
    try:
        delivery = await deliver(storage, guarded, {
            "type": "email", "recipients": ["ops@example.com"], "smtp_host": ALLOWED, "smtp_port": port,
            "use_tls": False,
        })
    finally:
        controller.stop()
    assert delivery.status is DeliveryStatus.DELIVERED, delivery.last_error
    assert len(received) == 1


async def test_the_scan_policy_does_not_open_channels(storage: SqlStorage, guarded: Settings) -> None:
    # ALLOW_PRIVATE_TARGETS=true (monitoring internal sites) must not let every organization's channels in.
    assert guarded.allow_private_targets
    async with internal_service() as internal:
        delivery = await deliver(storage, guarded, {"type": "webhook", "url": f"http://127.0.0.1:{internal.port}/"})
    assert internal.connections == 0
    assert_blocked(delivery)
