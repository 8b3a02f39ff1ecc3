"""Nothing lost, nothing twice: restarts are simulated by closing the storage and opening a new one (and
a new Notifier) over the same SQLite file, as a killed and restarted process would."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import DeliveryStatus
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, HttpReceiver, make_change, make_config


def config_for(receiver: HttpReceiver) -> MonitoringConfig:
    return make_config(AlertRule.model_validate({
        "id": "r1", "name": "Tech",
        "notification_channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}],
    }))


async def open_storage(settings: Settings) -> SqlStorage:
    storage = SqlStorage(settings)
    await storage.start()
    return storage


async def test_killed_after_the_alert_is_stored_delivers_exactly_once_after_restart(
    settings: Settings, clock: Clock, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    before_crash = await open_storage(settings)
    await before_crash.configs.add(config, next_run_at=None)
    await AlertEngine(before_crash, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    await before_crash.close()  # the process dies here: the alert and its outbox entry are stored, nothing sent
    assert receiver.requests == []

    after_restart = await open_storage(settings)
    # The restarted pipeline re-handles the same scan (its event was never acknowledged): still one alert.
    assert await AlertEngine(after_restart, settings, clock=clock).handle_changes(config, [make_change("scan-1")]) == []
    notifier = Notifier(after_restart, settings, clock=clock)
    try:
        assert await notifier.deliver_due() == 1
        assert await notifier.deliver_due() == 0
    finally:
        await notifier.aclose()
        await after_restart.close()
    assert len(receiver.requests) == 1


async def test_killed_after_delivery_does_not_deliver_again(
    settings: Settings, clock: Clock, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    first_life = await open_storage(settings)
    await first_life.configs.add(config, next_run_at=None)
    await AlertEngine(first_life, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    notifier = Notifier(first_life, settings, clock=clock)
    assert await notifier.deliver_due() == 1
    await notifier.aclose()
    await first_life.close()

    second_life = await open_storage(settings)
    again = Notifier(second_life, settings, clock=clock)
    try:
        await AlertEngine(second_life, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
        clock.advance(hours=1)
        assert await again.deliver_due() == 0
    finally:
        await again.aclose()
        await second_life.close()
    assert len(receiver.requests) == 1


async def test_a_claim_left_by_a_crashed_worker_is_retried_once_its_lease_expires(
    storage: SqlStorage, settings: Settings, clock: Clock, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    await storage.configs.add(config, next_run_at=None)
    await AlertEngine(storage, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    [delivery] = await storage.deliveries.due(clock.now)
    # A worker claimed it and died mid-send: the lease stays behind.
    assert await storage.deliveries.claim(delivery.id, lease_until=clock.now + timedelta(seconds=300), now=clock.now)

    notifier = Notifier(storage, settings, clock=clock, lease_seconds=300)
    try:
        assert await notifier.deliver_due() == 0  # still leased: maybe the other worker is just slow
        clock.advance(seconds=301)
        assert await notifier.deliver_due() == 1
        assert await notifier.deliver_due() == 0
    finally:
        await notifier.aclose()
    [done] = await storage.deliveries.list_for_alert(delivery.alert_id)
    assert done.status is DeliveryStatus.DELIVERED and len(receiver.requests) == 1


async def test_two_workers_sharing_the_outbox_never_send_a_delivery_twice(
    storage: SqlStorage, settings: Settings, clock: Clock, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    await storage.configs.add(config, next_run_at=None)
    engine = AlertEngine(storage, settings, clock=clock)
    for scan in range(20):
        await engine.handle_changes(config, [make_change(f"scan-{scan}", subject=f"tech-{scan}")])
    workers = [Notifier(storage, settings, clock=clock) for _ in range(2)]
    try:
        sent = await asyncio.gather(*(worker.deliver_due() for worker in workers))
    finally:
        for worker in workers:
            await worker.aclose()
    assert sum(sent) == 20
    assert len(receiver.requests) == 20
    assert len({request.json()["delivery_id"] for request in receiver.requests}) == 20


async def test_the_running_notifier_sends_as_soon_as_the_engine_stores_an_alert(
    storage: SqlStorage, settings: Settings, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    await storage.configs.add(config, next_run_at=None)
    notifier = Notifier(storage, settings, poll_seconds=30)  # only a wake-up can explain a prompt send
    engine = AlertEngine(storage, settings, on_outbox=notifier.wake)
    task = asyncio.create_task(notifier.run())
    try:
        await asyncio.sleep(0.05)  # the first pass finds nothing and waits
        await engine.handle_changes(config, [make_change("scan-1")])
        for _ in range(200):
            if receiver.requests:
                break
            await asyncio.sleep(0.01)
        assert len(receiver.requests) == 1
    finally:
        notifier.stop()
        await asyncio.wait_for(task, timeout=5)
        await notifier.aclose()


async def test_killed_between_storing_the_alert_and_its_deliveries_the_replayed_scan_repairs_the_outbox(
    settings: Settings, clock: Clock, receiver: HttpReceiver
) -> None:
    config = config_for(receiver)
    first_life = await open_storage(settings)
    await first_life.configs.add(config, next_run_at=None)

    async def die(*_: object) -> None:
        raise SystemExit("killed")  # the process dies right after the alert row was committed

    first_life.deliveries.add_many = die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await AlertEngine(first_life, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
    assert len(await first_life.alerts.find()) == 1
    await first_life.close()

    second_life = await open_storage(settings)
    notifier = Notifier(second_life, settings, clock=clock)
    try:
        assert await notifier.deliver_due() == 0  # nothing in the outbox yet
        # The scan's change.detected event was never acknowledged, so it is handled again after restart.
        await AlertEngine(second_life, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
        assert await notifier.deliver_due() == 1
        await AlertEngine(second_life, settings, clock=clock).handle_changes(config, [make_change("scan-1")])
        assert await notifier.deliver_due() == 0
    finally:
        await notifier.aclose()
        await second_life.close()
    assert len(receiver.requests) == 1
    assert len({r.json()["alert"]["id"] for r in receiver.requests}) == 1
