"""Redis coordination between replicas (real Redis): shared rate limits, one alert per dedupe key when two
replicas raise at once, throttle windows every replica sees, and a Redis outage that only degrades."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
from tests.alerts.conftest import Clock, make_config
from tests.alerts.test_engine import down, outbox, rule

from techscaniq.alerts.engine import AlertEngine
from techscaniq.coordination import RedisAlertGate, RedisGuard, RedisRateLimiter
from techscaniq.observability.metrics import REGISTRY
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


class RacingStorage:
    """Real storage whose `alerts.find_open` answers, then waits (up to 0.3 s) for a second caller: the
    interleaving of two replicas handling one dedupe key at once, made certain instead of likely."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage
        self.alerts = _RacingAlerts(storage.alerts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class _RacingAlerts:
    def __init__(self, alerts: Any) -> None:
        self._alerts = alerts
        self._callers = 0
        self._both = asyncio.Event()

    async def find_open(self, dedupe_key: str) -> Any:
        found = await self._alerts.find_open(dedupe_key)
        self._callers += 1
        if self._callers >= 2:
            self._both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._both.wait(), 0.3)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._alerts, name)


def fallbacks(operation: str) -> float:
    return REGISTRY.get_sample_value("techscaniq_coordination_fallbacks_total", {"operation": operation}) or 0.0


async def test_replicas_share_one_rate_limit_budget(redis_guard: RedisGuard, other_redis_guard: RedisGuard,
                                                    namespace: str) -> None:
    replica_a = RedisRateLimiter(redis_guard, prefix=namespace)
    replica_b = RedisRateLimiter(other_redis_guard, prefix=namespace)
    results = [await (replica_a if i % 2 else replica_b).hit("org:acme", 6, 60) for i in range(6)]
    assert all(allowed for allowed, _ in results)
    allowed, retry_after = await replica_a.hit("org:acme", 6, 60)
    assert not allowed and 9 < retry_after <= 10  # one request per 10 s comes back
    assert (await replica_b.hit("org:other", 6, 60))[0]  # budgets are per key


async def test_rate_limits_hold_per_replica_while_redis_is_down(
    dead_redis_guard: RedisGuard, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(dead_redis_guard)
    before = fallbacks("rate_limit")
    with caplog.at_level(logging.WARNING, "techscaniq.coordination"):
        results = [(await limiter.hit("org:acme", 3, 60))[0] for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert fallbacks("rate_limit") == before + 5
    assert len([r for r in caplog.records if "Redis unavailable" in r.message]) == 1  # logged once, not per call


async def test_two_replicas_raising_the_same_alert_at_once_notify_once(
    pg_storage: SqlStorage, settings: Settings, redis_guard: RedisGuard, namespace: str, clock: Clock
) -> None:
    # Two engines on one database: two replicas handling repeats of one outage concurrently (a rebalance).
    racing = RacingStorage(pg_storage)
    engines = [AlertEngine(racing, settings, clock=clock, gate=RedisAlertGate(redis_guard, namespace))  # type: ignore[arg-type]
               for _ in range(2)]
    config = make_config(rule())
    raised = await asyncio.gather(engines[0].handle_changes(config, [down("s1")]),
                                  engines[1].handle_changes(config, [down("s2")]))
    alerts = await pg_storage.alerts.find(config_id=config.id)
    assert len(alerts) == 1 and alerts[0].occurrences == 2  # the second folded into the first
    assert len(await pg_storage.deliveries.find()) == 2  # one alert's webhook + slack
    assert sum(len(r) for r in raised) == 2


async def test_without_the_shared_lock_the_same_race_notifies_twice(
    pg_storage: SqlStorage, settings: Settings, clock: Clock
) -> None:
    """The control for the test above: the race is real, the lock is what prevents it."""
    racing = RacingStorage(pg_storage)
    engines = [AlertEngine(racing, settings, clock=clock) for _ in range(2)]  # type: ignore[arg-type]
    config = make_config(rule())
    await asyncio.gather(engines[0].handle_changes(config, [down("s1")]),
                         engines[1].handle_changes(config, [down("s2")]))
    assert len(await pg_storage.alerts.find(config_id=config.id)) == 2


async def test_a_throttle_window_taken_on_one_replica_throttles_the_others(
    storage: SqlStorage, settings: Settings, redis_guard: RedisGuard, namespace: str, clock: Clock
) -> None:
    replica_a, replica_b = (AlertEngine(storage, settings, clock=clock, gate=RedisAlertGate(redis_guard, namespace))
                            for _ in range(2))
    config = make_config(rule(throttle_minutes=60))
    [first] = await replica_a.handle_changes(config, [down("s1", subject="api")])
    [other] = await replica_b.handle_changes(config, [down("s2", subject="web")])
    assert not first.throttled and await outbox(storage, first) != []
    assert not other.throttled  # another dedupe key, another window
    await replica_a.resolve(first.id)
    [flap] = await replica_b.handle_changes(config, [down("s3", subject="api")])
    assert flap.throttled and await outbox(storage, flap) == []
    # The same scan handled again on a replica after a crash before its alert was stored owns its window.
    assert await RedisAlertGate(redis_guard, namespace).claim_window(first.dedupe_key, first.id, 60) is True


async def test_alerts_keep_flowing_through_the_database_when_redis_is_down(
    storage: SqlStorage, settings: Settings, dead_redis_guard: RedisGuard, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = AlertEngine(storage, settings, clock=clock, gate=RedisAlertGate(dead_redis_guard))
    config = make_config(rule(throttle_minutes=60))
    before = fallbacks("alert_lock") + fallbacks("alert_throttle")
    with caplog.at_level(logging.WARNING, "techscaniq.coordination"):
        [first] = await engine.handle_changes(config, [down("s1")])
        await engine.resolve(first.id)
        clock.advance(minutes=5)
        [flap] = await engine.handle_changes(config, [down("s2")])
    assert not first.throttled and await outbox(storage, first) != []
    assert flap.throttled  # the database's throttle check still applies
    assert fallbacks("alert_lock") + fallbacks("alert_throttle") > before
    assert len([r for r in caplog.records if "Redis unavailable" in r.message]) == 1
