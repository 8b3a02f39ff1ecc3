"""Notifier: the outbox worker. Claims due deliveries (a lease, so two workers or a crashed one never
double-send), sends each through its channel, and records every attempt in the delivery's log.

Outcome rules: success -> delivered. A retryable error (timeout, connection error, 5xx) -> failed, tried
again after an exponential backoff with jitter, dead after `notification_max_attempts`. A permanent
error (4xx, bad credentials, a channel that no longer exists, a receiver on a refused address) -> dead at
once, with its error. Retries span hours (NOTIFICATION_MAX_BACKOFF_SECONDS, NOTIFICATION_RETRY_WINDOW_SECONDS);
a dead letter can be retried by hand (`retry`), which starts a new run of retries.

Delivery is at least once: a crash between a successful send and recording it re-sends after the lease
expires (webhook receivers can drop repeats by the X-TechScanIQ-Delivery header). Once recorded as
delivered, a delivery is never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from techscaniq.alerts.channels.base import ChannelSender, DeliveryError, scrub, secrets_of
from techscaniq.alerts.channels.registry import default_senders, tls_context
from techscaniq.alerts.messages import AlertMessage
from techscaniq.domain.alert import Alert, Delivery, DeliveryStatus
from techscaniq.domain.common import new_id, utcnow
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.egress.http_client import guarded_client
from techscaniq.observability.metrics import (
    NOTIFICATION_CHANNELS_FAILING,
    NOTIFICATION_SUCCESS_RATIO,
    NOTIFICATIONS,
    NOTIFICATIONS_PENDING,
)
from techscaniq.observability.outage import Outage
from techscaniq.settings import Settings
from techscaniq.storage.protocols import Storage

log = logging.getLogger(__name__)

MAX_LOG_ENTRIES = 50
_PENDING_SCAN_LIMIT = 10_000
PENDING_GAUGE_SECONDS = 15.0  # an idle worker recounts the outbox this often, not every poll
FAILING_AFTER = 3  # consecutive failed attempts after which a channel counts as failing (/health, /metrics)


@dataclass
class FailingChannel:
    """A channel whose recent attempts all failed (in this process): shown in /health."""

    config_id: str
    rule_id: str
    channel_index: int
    channel_type: str
    failures: int
    since: datetime
    last_error: str


class Notifier:
    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        senders: Mapping[str, ChannelSender] | None = None,
        *,
        lease_seconds: float = 300.0,
        send_timeout_seconds: float = 150.0,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
        concurrency: int = 10,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if send_timeout_seconds >= lease_seconds:
            raise ValueError("send_timeout_seconds must be shorter than lease_seconds")
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        if senders is None:
            policy = settings.notification_address_policy
            self._client = guarded_client(policy, tls_context(settings), settings.user_agent)
            senders = default_senders(settings, self._client, clock)
        self._senders = dict(senders)
        self._lease = timedelta(seconds=lease_seconds)
        self._send_timeout = send_timeout_seconds
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._concurrency = asyncio.Semaphore(concurrency)
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._stopped = False
        self._delivered = 0
        self._dead = 0
        self._gauge_updated_at = datetime.min.replace(tzinfo=UTC)
        self._streaks: dict[tuple[str, str, int], FailingChannel] = {}
        self.outage = Outage("notifier", "notifier")

    def wake(self) -> None:
        """New deliveries are in the outbox: run a pass now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`. A pass that fails (e.g. the database away) is retried with backoff;
        the deliveries stay in the outbox meanwhile."""
        self._stopped = False
        while not self._stopped:
            self._wake.clear()
            try:
                await self.deliver_due()
                self.outage.recovered()
                timeout = self._poll_seconds
            except Exception as exc:  # keep the worker alive
                timeout = max(self._poll_seconds, self.outage.failed(exc))
            if self._stopped:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def aclose(self) -> None:
        self.stop()
        if self._client is not None:
            await self._client.aclose()

    async def deliver_due(self) -> int:
        """One pass: claim what is due, send it, record the outcome. Returns the number of attempts made."""
        now = self._clock()
        due = await self._storage.deliveries.due(now, limit=self._batch_size)
        configs: dict[str, MonitoringConfig | None] = {}
        for config_id in {d.config_id for d in due}:
            configs[config_id] = await self._storage.configs.get(config_id)
        attempts = sum(await asyncio.gather(*(self._claim_and_send(d, configs.get(d.config_id), now) for d in due)))
        if attempts or now - self._gauge_updated_at >= timedelta(seconds=PENDING_GAUGE_SECONDS):
            await self._update_pending_gauge()
            self._gauge_updated_at = now
        return attempts

    async def _claim_and_send(self, delivery: Delivery, config: MonitoringConfig | None, now: datetime) -> bool:
        async with self._concurrency:
            if not await self._storage.deliveries.claim(delivery.id, lease_until=now + self._lease, now=now):
                return False  # another worker has it
            # Re-read after claiming: the listing may be stale if another worker just recorded an attempt.
            fresh = next(
                (d for d in await self._storage.deliveries.list_for_alert(delivery.alert_id) if d.id == delivery.id),
                None,
            )
            if fresh is None or fresh.status not in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
                return False
            if fresh.next_attempt_at > now:
                await self._storage.deliveries.update(fresh)  # releases the lease, changes nothing else
                return False
            await self._attempt(fresh, config)
            return True

    async def _attempt(self, delivery: Delivery, config: MonitoringConfig | None) -> None:
        started = self._clock()
        error = await self._send(delivery, config)
        finished = self._clock()
        delivery.attempts += 1
        entry: dict[str, Any] = {
            "attempt": delivery.attempts,
            "at": started.isoformat(),
            "duration_ms": round((finished - started).total_seconds() * 1000, 1),
        }
        if error is None:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = finished
            delivery.last_error = None
            self._delivered += 1
        else:
            entry["error"] = str(error)
            if error.status_code is not None:
                entry["status_code"] = error.status_code
            if error.reason is not None:
                entry["reason"] = error.reason
            delivery.last_error = str(error)
            if not error.retryable or self._exhausted(delivery, finished):
                delivery.status = DeliveryStatus.DEAD
                self._dead += 1
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = finished + timedelta(seconds=self.backoff_seconds(delivery.attempts))
        entry["outcome"] = delivery.status.value
        delivery.log = [*delivery.log, entry][-MAX_LOG_ENTRIES:]
        await self._storage.deliveries.update(delivery)
        self._note_outcome(delivery, error, finished)
        NOTIFICATIONS.labels(channel=delivery.channel_type, outcome=delivery.status.value).inc()
        if self._delivered + self._dead:
            NOTIFICATION_SUCCESS_RATIO.set(self._delivered / (self._delivered + self._dead))
        if error is None:
            log.info("delivery %s (%s) of alert %s delivered", delivery.id, delivery.channel_type, delivery.alert_id)
        else:
            log.warning(
                "delivery %s (%s) of alert %s %s after attempt %d: %s",
                delivery.id, delivery.channel_type, delivery.alert_id, delivery.status.value, delivery.attempts, error,
            )

    async def _send(self, delivery: Delivery, config: MonitoringConfig | None) -> DeliveryError | None:
        alert = await self._storage.alerts.get(delivery.alert_id)
        rule = config.rule(delivery.rule_id) if config else None
        channels = rule.notification_channels if rule else []
        channel = channels[delivery.channel_index] if delivery.channel_index < len(channels) else None
        if alert is None or config is None or channel is None or channel.type != delivery.channel_type:
            return DeliveryError("the alert, its rule or this channel no longer exists", retryable=False)
        sender = self._senders.get(channel.type)
        if sender is None:
            return DeliveryError(f"no sender for channel type {channel.type!r}", retryable=False)
        message = AlertMessage(
            alert=alert, kind=delivery.kind, delivery_id=delivery.id, config_name=config.name, config_url=config.url
        )
        return await self._send_once(sender, channel, message)

    async def send_test(self, config: MonitoringConfig, rule: AlertRule, channel_index: int) -> DeliveryError | None:
        """Send a test notification through one channel of a rule, now and once: the same sender, client
        and address guard as a real delivery, but no alert or delivery is stored and nothing is retried."""
        channel = rule.notification_channels[channel_index]
        sender = self._senders.get(channel.type)
        if sender is None:
            return DeliveryError(f"no sender for channel type {channel.type!r}", retryable=False)
        alert = Alert(organization_id=config.organization_id, config_id=config.id, rule_id=rule.id,
                      rule_name=rule.name, severity=rule.severity, dedupe_key=f"test:{rule.id}",
                      title=f"Test notification from TechScanIQ for {config.name}")
        message = AlertMessage(alert=alert, kind="triggered", delivery_id=f"test-{new_id()}",
                               config_name=config.name, config_url=config.url)
        return await self._send_once(sender, channel, message)

    async def _send_once(self, sender: ChannelSender, channel: Any, message: AlertMessage) -> DeliveryError | None:
        """One send under the send timeout; every failure becomes a DeliveryError (None: sent)."""
        try:
            await asyncio.wait_for(sender.send(channel, message), timeout=self._send_timeout)
        except DeliveryError as exc:
            return exc
        except TimeoutError:
            return DeliveryError(f"timed out after {self._send_timeout:g}s", retryable=True)
        except Exception as exc:  # a sender bug must not kill the worker; scrub in case it quotes a secret
            return DeliveryError(scrub(f"{type(exc).__name__}: {exc}", secrets_of(channel)), retryable=True)
        return None

    def failing_channels(self) -> list[FailingChannel]:
        return [streak for streak in self._streaks.values() if streak.failures >= FAILING_AFTER]

    def health_detail(self) -> str:
        """For /health: which channels fail everything they are given, or nothing."""
        failing = self.failing_channels()
        if not failing:
            return ""
        named = ", ".join(f"{c.config_id}/{c.rule_id}/{c.channel_type}#{c.channel_index} ({c.failures} failures "
                          f"since {c.since:%Y-%m-%d %H:%M}Z: {c.last_error[:80]})" for c in failing[:5])
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        return f"{len(failing)} channel(s) failing: {named}{more}"

    def _note_outcome(self, delivery: Delivery, error: DeliveryError | None, at: datetime) -> None:
        key = (delivery.config_id, delivery.rule_id, delivery.channel_index)
        if error is None:
            self._streaks.pop(key, None)
        else:
            streak = self._streaks.setdefault(key, FailingChannel(
                delivery.config_id, delivery.rule_id, delivery.channel_index, delivery.channel_type, 0, at, "",
            ))
            streak.failures += 1
            streak.last_error = str(error)[:200]
        NOTIFICATION_CHANNELS_FAILING.set(len(self.failing_channels()))

    async def retry(self, delivery: Delivery, by: str) -> Delivery:
        """Send a dead (or waiting) delivery again now, with a fresh run of retries; the log keeps the history."""
        now = self._clock()
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.retrying_since = now
        delivery.log = [*delivery.log, {"at": now.isoformat(), "outcome": "retry requested", "by": by}][
            -MAX_LOG_ENTRIES:]
        await self._storage.deliveries.update(delivery)
        self.wake()
        return delivery

    def backoff_seconds(self, attempts: int) -> float:
        """Exponential (base * 2^(n-1), capped at NOTIFICATION_MAX_BACKOFF_SECONDS) with jitter in [50%, 100%]
        so that many deliveries failing together do not retry together."""
        settings = self._settings
        exponent = min(attempts - 1, 60)  # 2**60 s is past any cap; keeps the float finite
        base = min(settings.notification_max_backoff_seconds, settings.notification_backoff_seconds * 2 ** exponent)
        return float(base * (0.5 + 0.5 * self._jitter()))

    def _exhausted(self, delivery: Delivery, now: datetime) -> bool:
        settings = self._settings
        since = delivery.retrying_since or delivery.created_at
        window = timedelta(seconds=settings.notification_retry_window_seconds)
        return delivery.attempts >= settings.notification_max_attempts or now - since >= window

    async def _update_pending_gauge(self) -> None:
        waiting = 0
        for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
            waiting += len(await self._storage.deliveries.find(status=status.value, limit=_PENDING_SCAN_LIMIT))
        NOTIFICATIONS_PENDING.set(waiting)
