"""AlertEngine: turns the changes of one scan into alerts, deduplicated, throttled, silenced, grouped.

Shape (after Alertmanager's notify pipeline, as small stages in one place):
  recoveries resolve open alerts -> each enabled rule groups its matching changes into one alert ->
  an open alert with the same key absorbs the repeat -> silences / maintenance windows -> throttle ->
  alert stored -> its deliveries stored in the outbox (the Notifier sends them later).

Idempotent: the alert id is derived from config + rule + scan, delivery ids from alert + channel + kind,
and storage ignores ids it already has, so handling a scan twice (a re-delivered event, a restart
half-way) stores and sends nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from techscaniq.alerts.rules import is_recovery, matching_changes
from techscaniq.alerts.silences import InMemorySilenceStore, SilenceStore
from techscaniq.domain.alert import Alert, AlertStatus, Delivery
from techscaniq.domain.change import Change
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.observability.metrics import ALERT_RESOLUTION, ALERTS_SUPPRESSED, ALERTS_TRIGGERED
from techscaniq.settings import Settings
from techscaniq.storage.protocols import Storage

if TYPE_CHECKING:
    from techscaniq.coordination.alert_gate import AlertGate

log = logging.getLogger(__name__)

# An alert keeps at most this many change summaries; the count of occurrences keeps growing.
MAX_CHANGES_PER_ALERT = 100
MAX_SUMMARY_VALUE = 2000  # characters of a change's subject / before / after kept in the alert
_OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)


def stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def dedupe_key(config_id: str, rule_id: str, changes: list[Change]) -> str:
    """Rule + config + the identities (kind, change type, subject) of the grouped changes."""
    subjects = sorted({f"{c.type.value}:{c.change_type.lower()}:{c.subject}" for c in changes})
    return stable_id("key", config_id, rule_id, *subjects)


def change_summary(change: Change) -> dict[str, Any]:
    """What an alert keeps of a change: enough for the message, bounded in size whatever the site sent."""
    summary = change.model_dump(
        mode="json",
        include={"id", "type", "change_type", "subject", "before", "after", "impact", "scan_id", "detected_at"},
    )
    for field in ("subject", "before", "after"):
        text = summary[field] if isinstance(summary[field], str) else json.dumps(summary[field])
        if len(text) > MAX_SUMMARY_VALUE:
            summary[field] = text[: MAX_SUMMARY_VALUE - 1] + "…"
    return summary


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

    async def handle_changes(self, config: MonitoringConfig, changes: list[Change]) -> list[Alert]:
        """Evaluate one scan's changes. Returns the alerts this call stored or resolved (including
        alerts recorded silently because of a silence or the throttle)."""
        now = self._clock()
        touched: list[Alert] = []
        queued = False
        changes = [c for c in changes if c.config_id == config.id]  # a rule only ever sees its own site
        recoveries = [c for c in changes if is_recovery(c) and not c.data_change and not c.false_positive]
        if recoveries:
            for alert, notify in await self._resolve_recovered(config, recoveries, now):
                touched.append(alert)
                queued |= notify
        for rule in config.alert_rules:
            matched = matching_changes(rule, changes)
            if not matched:
                continue
            raised, notify = await self._raise(config, rule, matched, now)
            if raised is not None:
                touched.append(raised)
            queued |= notify
        if queued and self._on_outbox is not None:
            self._on_outbox()
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
        if await self._mark_resolved(alert, config, self._clock()) and self._on_outbox is not None:
            self._on_outbox()
        return alert

    # ---- stages ------------------------------------------------------------------------------------

    async def _raise(
        self, config: MonitoringConfig, rule: AlertRule, matched: list[Change], now: datetime
    ) -> tuple[Alert | None, bool]:
        key = dedupe_key(config.id, rule.id, matched)
        if self._gate is None:
            return await self._raise_exclusive(config, rule, matched, now, key)
        async with self._gate.exclusive(key):
            return await self._raise_exclusive(config, rule, matched, now, key)

    async def _raise_exclusive(
        self, config: MonitoringConfig, rule: AlertRule, matched: list[Change], now: datetime, key: str
    ) -> tuple[Alert | None, bool]:
        scan_id = matched[0].scan_id
        alert_id = stable_id("alert", config.id, rule.id, scan_id)
        summaries = [change_summary(c) for c in matched]
        open_alert = await self._storage.alerts.find_open(key)
        if open_alert is not None and open_alert.id == alert_id:
            return None, await self._ensure_outbox(open_alert, rule)  # this scan again (e.g. after a crash)
        if open_alert is not None:
            if any(s.get("scan_id") == scan_id for s in open_alert.changes):
                return None, False
            open_alert.occurrences += 1
            open_alert.last_occurred_at = now
            open_alert.change_ids = (open_alert.change_ids + [c.id for c in matched])[-MAX_CHANGES_PER_ALERT:]
            open_alert.changes = (open_alert.changes + summaries)[-MAX_CHANGES_PER_ALERT:]
            await self._storage.alerts.update(open_alert)
            ALERTS_SUPPRESSED.labels(reason="open").inc()
            return open_alert, False

        alert = Alert(
            id=alert_id,
            organization_id=config.organization_id,
            config_id=config.id,
            rule_id=rule.id,
            rule_name=rule.name,
            severity=rule.severity,
            dedupe_key=key,
            title=_title(rule, config, matched),
            change_ids=[c.id for c in matched][:MAX_CHANGES_PER_ALERT],
            changes=summaries[:MAX_CHANGES_PER_ALERT],
            scan_id=scan_id,
            triggered_at=now,
        )
        reason: str | None = None
        silence = await self.silences.active(config.organization_id, config.id, now)
        if silence is not None:
            alert.silenced, reason = True, silence.kind
        else:
            throttle = timedelta(minutes=rule.throttle_minutes)
            window = None
            if self._gate is not None and throttle:
                window = await self._gate.claim_window(key, alert_id, throttle.total_seconds())
            last = None if window is False else await self._storage.alerts.last_notified(key)
            if window is False:
                alert.throttled, reason = True, "throttled"  # another alert owns the window: no database read
            elif last is not None and now - last.triggered_at < throttle:
                alert.throttled, reason = True, "throttled"
                if window and self._gate is not None:  # Redis had lost the window: give it back to its owner
                    await self._gate.hold_window(key, last.id, (last.triggered_at + throttle - now).total_seconds())
            elif last is not None:
                alert.suppressed_count = await self._suppressed_since(last)
        if not await self._storage.alerts.add(alert):
            # Stored before (this scan handled again, its alert since resolved) or by a concurrent handler.
            existing = await self._storage.alerts.get(alert_id)
            return None, await self._ensure_outbox(existing, rule) if existing is not None else False
        ALERTS_TRIGGERED.labels(severity=alert.severity.value).inc()
        if reason is not None:
            ALERTS_SUPPRESSED.labels(reason=reason).inc()
            log.info("alert %s recorded without notification (%s)", alert.id, reason)
            return alert, False
        await self._storage.deliveries.add_many(self._deliveries(alert, rule, "triggered", now))
        return alert, bool(rule.notification_channels)

    async def _ensure_outbox(self, alert: Alert, rule: AlertRule) -> bool:
        """Re-adding a notified alert's deliveries is a no-op when they exist, and repairs a crash
        between storing the alert and storing its deliveries."""
        if alert.silenced or alert.throttled or not rule.notification_channels:
            return False
        await self._storage.deliveries.add_many(self._deliveries(alert, rule, "triggered", alert.triggered_at))
        return True

    async def _suppressed_since(self, last: Alert) -> int:
        """Repeats of `last`'s key not notified since it was: folded into it, or recorded as throttled."""
        later = await self._storage.alerts.find(
            organization_id=last.organization_id, config_id=last.config_id, since=last.triggered_at, limit=10_000
        )
        throttled = sum(a.occurrences for a in later if a.dedupe_key == last.dedupe_key and a.throttled)
        return last.occurrences - 1 + throttled

    async def _resolve_recovered(
        self, config: MonitoringConfig, recoveries: list[Change], now: datetime
    ) -> list[tuple[Alert, bool]]:
        recovered = {(c.type.value, c.subject) for c in recoveries}
        results: list[tuple[Alert, bool]] = []
        for status in _OPEN_STATUSES:
            for alert in await self._storage.alerts.find(config_id=config.id, status=status, limit=10_000):
                touched = False
                for summary in alert.changes:
                    if (summary.get("type"), summary.get("subject")) in recovered and not summary.get("recovered_at"):
                        summary["recovered_at"] = now.isoformat()
                        touched = True
                if not touched:
                    continue
                if all(s.get("recovered_at") for s in alert.changes):
                    results.append((alert, await self._mark_resolved(alert, config, now)))
                else:
                    await self._storage.alerts.update(alert)
                    results.append((alert, False))
        return results

    async def _mark_resolved(self, alert: Alert, config: MonitoringConfig | None, now: datetime) -> bool:
        """Resolve, observe the resolution time, queue the resolved notification if wanted."""
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        rule = _rule(config, alert.rule_id)
        deliveries: list[Delivery] = []
        if rule is not None and rule.notify_on_resolve and not (alert.silenced or alert.throttled):
            # Outbox first: a crash before the update leaves the alert open, and the retry re-adds nothing.
            deliveries = self._deliveries(alert, rule, "resolved", now)
            await self._storage.deliveries.add_many(deliveries)
        await self._storage.alerts.update(alert)
        ALERT_RESOLUTION.observe(max(0.0, (now - alert.triggered_at).total_seconds()))
        return bool(deliveries)

    @staticmethod
    def _deliveries(alert: Alert, rule: AlertRule, kind: str, now: datetime) -> list[Delivery]:
        return [
            Delivery(
                id=stable_id("delivery", alert.id, str(index), kind),
                alert_id=alert.id,
                organization_id=alert.organization_id,
                config_id=alert.config_id,
                rule_id=alert.rule_id,
                channel_index=index,
                channel_type=channel.type,
                kind=kind,
                next_attempt_at=now,
                created_at=now,
            )
            for index, channel in enumerate(rule.notification_channels)
        ]


def _rule(config: MonitoringConfig | None, rule_id: str) -> AlertRule | None:
    if config is None:
        return None
    return next((rule for rule in config.alert_rules if rule.id == rule_id), None)


def _title(rule: AlertRule, config: MonitoringConfig, changes: list[Change]) -> str:
    first = changes[0]
    what = f"{first.subject} {first.change_type}"
    if len(changes) > 1:
        what += f" and {len(changes) - 1} more change{'s' if len(changes) > 2 else ''}"
    return f"{rule.name}: {what} on {config.name}"[:300]
