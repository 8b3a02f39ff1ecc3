"""AlertEngine: turns the changes of one scan into alerts, deduplicated, throttled, silenced, grouped.

The engine only composes the steps of alerts/steps/ (after Alertmanager's notify pipeline), in order:
  match -> resolve recoveries -> group (an open alert absorbs a repeat) -> silence -> throttle ->
  store (dedupe by derived id) -> outbox -> wake the Notifier.

Idempotent: the alert id is derived from config + rule + scan, delivery ids from alert + channel + kind,
and storage ignores ids it already has, so handling a scan twice (a re-delivered event, a restart
half-way) stores and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from techscaniq.alerts.silences import InMemorySilenceStore, SilenceStore
from techscaniq.alerts.steps.group import change_summary, fold_repeat, new_alert
from techscaniq.alerts.steps.identity import alert_id, dedupe_key, stable_id
from techscaniq.alerts.steps.match import matches_by_rule, own_changes, recoveries
from techscaniq.alerts.steps.outbox import Outbox
from techscaniq.alerts.steps.resolve import Resolver
from techscaniq.alerts.steps.silence import apply_silence
from techscaniq.alerts.steps.store import store_alert
from techscaniq.alerts.steps.throttle import Throttle
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.change import Change
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.protocols import Storage

if TYPE_CHECKING:
    from techscaniq.coordination.alert_gate import AlertGate

__all__ = ["AlertEngine", "change_summary", "dedupe_key", "stable_id"]


class AlertEngine:
    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        silences: SilenceStore | None = None,
        on_outbox: Callable[[], None] | None = None,
        gate: AlertGate | None = None,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self.silences: SilenceStore = silences if silences is not None else InMemorySilenceStore()
        # Called after deliveries are stored, e.g. Notifier.wake, so they go out at once.
        self._on_outbox = on_outbox
        # Shared dedupe lock and throttle windows (Redis) when several replicas raise alerts.
        self._gate = gate
        self._outbox = Outbox(storage)
        self._throttle = Throttle(storage, gate)
        self._resolver = Resolver(storage, self._outbox)

    async def handle_changes(self, config: MonitoringConfig, changes: list[Change]) -> list[Alert]:
        """Evaluate one scan's changes. Returns the alerts this call stored or resolved (including
        alerts recorded silently because of a silence or the throttle)."""
        now = self._clock()
        touched: list[Alert] = []
        queued = False
        changes = own_changes(config, changes)
        if recovered := recoveries(changes):
            for alert, notify in await self._resolver.resolve_recovered(config, recovered, now):
                touched.append(alert)
                queued |= notify
        for rule, matched in matches_by_rule(config, changes):
            raised, notify = await self._raise(config, rule, matched, now)
            if raised is not None:
                touched.append(raised)
            queued |= notify
        if queued:
            self._wake_notifier()
        return touched

    async def acknowledge(self, alert_id: str, by: str, organization_id: str | None = None) -> Alert | None:
        """Someone is on it. Returns None for an unknown alert; a resolved alert stays resolved."""
        alert = await self._storage.alerts.get(alert_id, organization_id)
        if alert is None or alert.status is not AlertStatus.TRIGGERED:
            return alert
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = self._clock()
        alert.acknowledged_by = by
        await self._storage.alerts.update(alert)
        return alert

    async def resolve(self, alert_id: str, organization_id: str | None = None) -> Alert | None:
        """Resolve by hand (sends the resolved notification when the rule asks for one)."""
        alert = await self._storage.alerts.get(alert_id, organization_id)
        if alert is None or alert.status is AlertStatus.RESOLVED:
            return alert
        config = await self._storage.configs.get(alert.config_id)
        if await self._resolver.mark_resolved(alert, config, self._clock()):
            self._wake_notifier()
        return alert

    # ---- the path of one rule's changes -----------------------------------------------------------

    async def _raise(
        self, config: MonitoringConfig, rule: AlertRule, matched: list[Change], now: datetime
    ) -> tuple[Alert | None, bool]:
        """One rule's changes of one scan -> the alert stored or updated (None if none), and whether
        deliveries were queued. With a gate, one replica at a time per dedupe key."""
        key = dedupe_key(config.id, rule.id, matched)
        if self._gate is None:
            return await self._raise_exclusive(config, rule, matched, now, key)
        async with self._gate.exclusive(key):
            return await self._raise_exclusive(config, rule, matched, now, key)

    async def _raise_exclusive(
        self, config: MonitoringConfig, rule: AlertRule, matched: list[Change], now: datetime, key: str
    ) -> tuple[Alert | None, bool]:
        # Group: a repeat of an open alert folds into it, no new notification.
        open_alert = await self._storage.alerts.find_open(key)
        if open_alert is not None:
            if open_alert.id == alert_id(config.id, rule.id, matched[0].scan_id):
                return None, await self._outbox.ensure_triggered(open_alert, rule)  # this scan again
            if not fold_repeat(open_alert, matched, now):
                return None, False  # this later scan was folded in before
            await self._storage.alerts.update(open_alert)
            return open_alert, False
        alert = new_alert(config, rule, matched, key, now)
        # Silence, then throttle: either records the alert without notifying it.
        reason = await apply_silence(self.silences, alert, now)
        if reason is None and await self._throttle.apply(alert, rule, now):
            reason = "throttled"
        # Store (dedupe by id), then its deliveries in the outbox.
        stored = await store_alert(self._storage, alert, reason)
        if not stored.new:
            earlier = stored.earlier
            return None, await self._outbox.ensure_triggered(earlier, rule) if earlier is not None else False
        if reason is not None:
            return alert, False
        return alert, await self._outbox.queue(alert, rule, "triggered", now)

    def _wake_notifier(self) -> None:
        if self._on_outbox is not None:
            self._on_outbox()
