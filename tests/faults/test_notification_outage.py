"""Notifications outlast the outages they meet: a mail server down for three hours still gets the alert
once it is back (the retries of old gave up after about two minutes), and a receiver that never comes back
is a dead letter after NOTIFICATION_RETRY_WINDOW_SECONDS. Real aiosmtpd on loopback; the clock is moved by
hand so hours pass in a second."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiosmtpd.controller import Controller
from tests.alerts.conftest import Clock, make_change, make_config
from tests.support.ports import free_port

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.domain.config import AlertRule
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


async def email_alert(storage: SqlStorage, settings: Settings, clock: Clock, port: int) -> Delivery:
    rule = AlertRule.model_validate({"id": "r1", "name": "Down", "notification_channels": [{
        "type": "email", "recipients": ["ops@example.com"], "smtp_host": "127.0.0.1", "smtp_port": port,
        "use_tls": False}]})
    config = make_config(rule)
    await storage.configs.add(config, next_run_at=None)
    [alert] = await AlertEngine(storage, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    [delivery] = await storage.deliveries.list_for_alert(alert.id)
    return delivery


async def attempt_until(notifier: Notifier, storage: SqlStorage, clock: Clock, delivery: Delivery,
                        until: timedelta) -> Delivery:
    """Let the notifier try at each retry time until `until` after the start (or the delivery ends)."""
    end = clock.now + until
    while True:
        await notifier.deliver_due()
        current = await storage.deliveries.get(delivery.id)
        assert current is not None
        if current.status in (DeliveryStatus.DEAD, DeliveryStatus.DELIVERED) or current.next_attempt_at > end:
            return current
        clock.now = current.next_attempt_at


async def test_an_smtp_outage_of_three_hours_still_delivers_the_alert(storage: SqlStorage, settings: Settings) -> None:
    clock, port = Clock(), free_port()
    delivery = await email_alert(storage, settings, clock, port)
    notifier = Notifier(storage, settings, clock=clock, jitter=lambda: 1.0)
    received: list[bytes] = []

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    try:
        during = await attempt_until(notifier, storage, clock, delivery, timedelta(hours=3))
        assert during.status is DeliveryStatus.FAILED, during.last_error  # still trying after three hours
        assert during.attempts >= 10
        assert "ConnectionRefused" in (during.last_error or "") or "connect" in (during.last_error or "").lower()
        assert notifier.failing_channels()[0].channel_type == "email"  # shown in /health meanwhile

        mail_server = Controller(Mailbox(), hostname="127.0.0.1", port=port)
        mail_server.start()
        try:
            clock.now = during.next_attempt_at
            after = await attempt_until(notifier, storage, clock, delivery, timedelta(hours=1))
        finally:
            mail_server.stop()
    finally:
        await notifier.aclose()
    assert after.status is DeliveryStatus.DELIVERED
    assert len(received) == 1
    assert notifier.failing_channels() == []


async def test_a_receiver_that_never_returns_is_a_dead_letter_after_the_retry_window(
    storage: SqlStorage, settings: Settings
) -> None:
    clock = Clock()
    windowed = settings.model_copy(update={"notification_retry_window_seconds": 6 * 3600})
    delivery = await email_alert(storage, windowed, clock, free_port())
    notifier = Notifier(storage, windowed, clock=clock, jitter=lambda: 1.0)
    try:
        final = await attempt_until(notifier, storage, clock, delivery, timedelta(days=2))
    finally:
        await notifier.aclose()
    assert final.status is DeliveryStatus.DEAD
    assert timedelta(hours=6) <= clock.now - delivery.created_at < timedelta(hours=7)
