"""Webhook delivery through the Notifier against a real loopback receiver: signature, retries with
backoff, no retry on 4xx, dead-lettering, timeouts, and secrets kept out of errors and logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.observability.metrics import REGISTRY
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, HttpReceiver, make_change, make_config

SIGNING_KEY = "s3cr3t-signing-key"
AVAILABILITY = ChangeKind.AVAILABILITY


def webhook_config(url: str, **channel: Any) -> MonitoringConfig:
    rule = AlertRule.model_validate(
        {"id": "r1", "name": "Tech", "notification_channels": [{"type": "webhook", "url": url, **channel}]}
    )
    return make_config(rule)


async def raise_alert(storage: SqlStorage, settings: Settings, clock: Clock, config: MonitoringConfig) -> Delivery:
    await storage.configs.add(config, next_run_at=None)
    [alert] = await AlertEngine(storage, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    [delivery] = await storage.deliveries.list_for_alert(alert.id)
    return delivery


@pytest.fixture
async def notifier(storage: SqlStorage, settings: Settings, clock: Clock) -> AsyncIterator[Notifier]:
    worker = Notifier(storage, settings.model_copy(update={"notification_max_attempts": 4}), clock=clock,
                      jitter=lambda: 1.0)
    try:
        yield worker
    finally:
        await worker.aclose()


async def current(storage: SqlStorage, delivery: Delivery) -> Delivery:
    [fresh] = [d for d in await storage.deliveries.list_for_alert(delivery.alert_id) if d.id == delivery.id]
    return fresh


async def test_signed_webhook_retried_with_backoff_until_the_receiver_recovers(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    receiver.statuses = [503, 503]
    start = clock.now
    delivery = await raise_alert(
        storage, settings, clock, webhook_config(f"{receiver.url}/hook", secret=SIGNING_KEY, method="put")
    )

    assert await notifier.deliver_due() == 1
    first = await current(storage, delivery)
    assert first.status is DeliveryStatus.FAILED and first.last_error == "HTTP 503 X"  # the body ("ok") is not stored
    assert REGISTRY.get_sample_value("techscaniq_notifications_pending") == 1
    assert first.next_attempt_at == clock.now + timedelta(seconds=5)
    assert await notifier.deliver_due() == 0  # not due yet: backoff respected
    clock.advance(seconds=5)
    assert await notifier.deliver_due() == 1
    second = await current(storage, delivery)
    assert (second.next_attempt_at - clock.now).total_seconds() == 10  # doubled
    clock.advance(seconds=10)
    assert await notifier.deliver_due() == 1

    done = await current(storage, delivery)
    assert done.status is DeliveryStatus.DELIVERED and done.attempts == 3 and done.last_error is None
    assert [entry["outcome"] for entry in done.log] == ["failed", "failed", "delivered"]
    assert REGISTRY.get_sample_value("techscaniq_notifications_pending") == 0
    assert [entry.get("status_code") for entry in done.log] == [503, 503, None]
    assert len(receiver.requests) == 3
    for request in receiver.requests:
        assert request.method == "PUT" and request.path == "/hook"
        expected = "sha256=" + hmac.new(SIGNING_KEY.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-techscaniq-signature"], expected)
        assert request.headers["x-techscaniq-delivery"] == delivery.id
    sent_at = [int(request.headers["x-techscaniq-timestamp"]) for request in receiver.requests]
    assert sent_at == [int(start.timestamp()), int(start.timestamp()) + 5, int(start.timestamp()) + 15]
    body = receiver.requests[-1].json()
    assert body["schema"] == "techscaniq.alert.v1" and body["event"] == "alert.triggered"
    assert body["alert"]["rule_name"] == "Tech" and body["monitor"]["url"] == "https://shop.example/"
    assert body["changes"][0]["subject"] == "jQuery" and body["changes"][0]["change_type"] == "added"
    assert await notifier.deliver_due() == 0  # delivered is final


async def test_client_errors_are_not_retried(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    receiver.default_status = 404
    delivery = await raise_alert(storage, settings, clock, webhook_config(f"{receiver.url}/gone"))
    dead_before = REGISTRY.get_sample_value("techscaniq_notifications_total", {"channel": "webhook", "outcome": "dead"})

    await notifier.deliver_due()
    clock.advance(hours=5)
    await notifier.deliver_due()

    final = await current(storage, delivery)
    assert final.status is DeliveryStatus.DEAD and final.attempts == 1
    assert final.last_error is not None and final.last_error.startswith("HTTP 404")
    assert len(receiver.requests) == 1
    dead_after = REGISTRY.get_sample_value("techscaniq_notifications_total", {"channel": "webhook", "outcome": "dead"})
    assert dead_after == (dead_before or 0) + 1


async def test_a_receiver_that_never_recovers_is_dead_lettered_after_max_attempts(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    receiver.default_status = 502
    delivery = await raise_alert(storage, settings, clock, webhook_config(f"{receiver.url}/down"))
    for _ in range(10):
        await notifier.deliver_due()
        clock.advance(hours=2)
    final = await current(storage, delivery)
    assert final.status is DeliveryStatus.DEAD and final.attempts == 4
    assert final.last_error is not None and "502" in final.last_error
    assert len(receiver.requests) == 4
    assert REGISTRY.get_sample_value("techscaniq_notification_success_ratio") is not None


async def test_basic_bearer_and_custom_headers_are_sent(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    basic = webhook_config(
        f"{receiver.url}/basic",
        auth={"type": "basic", "username": "hook-user", "password": "hook-pass"},
        headers={"X-Team": "ops"},
    )
    await raise_alert(storage, settings, clock, basic)
    await notifier.deliver_due()
    request = receiver.requests[-1]
    assert request.headers["authorization"] == "Basic aG9vay11c2VyOmhvb2stcGFzcw=="  # hook-user:hook-pass
    assert request.headers["x-team"] == "ops" and request.headers["content-type"] == "application/json"

    bearer = webhook_config(f"{receiver.url}/bearer", auth={"type": "bearer", "token": "tok-123"})
    bearer = bearer.model_copy(update={"id": "cfg-2"})
    await storage.configs.add(bearer, next_run_at=None)
    change = make_change("scan-9", config_id="cfg-2")
    await AlertEngine(storage, settings, clock=clock).handle_changes(bearer, [change])
    await notifier.deliver_due()
    assert receiver.requests[-1].headers["authorization"] == "Bearer tok-123"


async def test_timeouts_are_retried(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    receiver.delay_seconds = 1.0
    delivery = await raise_alert(storage, settings, clock, webhook_config(f"{receiver.url}/slow", timeout_seconds=0.2))
    await notifier.deliver_due()
    failed = await current(storage, delivery)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error is not None and "Timeout" in failed.last_error


async def test_secrets_never_reach_stored_errors_logs_or_repr(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token, query_secret = "T0KEN-in-the-path-0123456789", "QUERYSECRET42"
    # A hostile receiver echoes the request line (with the token) in its 500 answer.
    receiver.default_status = 500
    receiver.response_body = f"no such hook /hooks/{token}?key={query_secret}".encode()
    echoing = webhook_config(
        f"{receiver.url}/hooks/{token}?key={query_secret}",
        headers={"Authorization": "Bearer HEADER-SECRET-77"}, secret=SIGNING_KEY,
    )
    # Port 9 on loopback: nothing listens, the connection is refused and httpx's error may name the URL.
    refused = webhook_config(f"http://127.0.0.1:9/hooks/{token}?key={query_secret}").model_copy(
        update={"id": "cfg-2"}
    )
    first = await raise_alert(storage, settings, clock, echoing)
    await storage.configs.add(refused, next_run_at=None)
    [alert] = await AlertEngine(storage, settings, clock=clock).handle_changes(
        refused, [make_change("scan-2", config_id="cfg-2")]
    )
    [second] = await storage.deliveries.list_for_alert(alert.id)
    caplog.set_level(logging.DEBUG)  # everything the notifier (and httpx under it) logs

    assert await notifier.deliver_due() == 2

    echoed, unreachable = await current(storage, first), await current(storage, second)
    assert echoed.last_error is not None and echoed.last_error.startswith("HTTP 500")
    assert echoed.last_error == "HTTP 500 X"  # the receiver's body is never stored
    assert unreachable.last_error is not None and "ConnectError" in unreachable.last_error
    for delivery in (echoed, unreachable):
        stored_text = delivery.model_dump_json()
        for secret in (token, query_secret, "HEADER-SECRET-77", SIGNING_KEY):
            assert secret not in stored_text
    for secret in (token, query_secret, "HEADER-SECRET-77", SIGNING_KEY):
        assert secret not in caplog.text
        assert secret not in repr(echoing) and secret not in echoing.model_dump_json()
    assert "delivery" in caplog.text  # the notifier did log the failures, just without secrets


async def test_recovery_sends_the_resolved_notification(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver
) -> None:
    config = webhook_config(f"{receiver.url}/hook").model_copy(deep=True)
    config.alert_rules[0].notify_on_resolve = True
    await storage.configs.add(config, next_run_at=None)
    engine = AlertEngine(storage, settings, clock=clock)
    await engine.handle_changes(config, [make_change("s1", subject="site", change_type="down", kind=AVAILABILITY)])
    await notifier.deliver_due()
    clock.advance(minutes=12)
    await engine.handle_changes(config, [make_change("s2", subject="site", change_type="up", kind=AVAILABILITY)])
    await notifier.deliver_due()

    events = [request.json() for request in receiver.requests]
    assert [e["event"] for e in events] == ["alert.triggered", "alert.resolved"]
    assert events[1]["alert"]["status"] == "resolved"
    assert events[1]["alert"]["id"] == events[0]["alert"]["id"]
    assert events[1]["changes"][0]["recovered_at"] is not None
    assert [r.headers["x-techscaniq-event"] for r in receiver.requests] == ["alert.triggered", "alert.resolved"]
