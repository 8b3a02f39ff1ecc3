"""Outbox: an alert's deliveries, one per channel of its rule, stored for the Notifier to send.

Delivery ids are derived from alert + channel + kind, so storing them again is a no-op; that is what
repairs a crash between storing an alert and storing its deliveries."""

from __future__ import annotations

from datetime import datetime

from techscaniq.alerts.steps.identity import delivery_id
from techscaniq.domain.alert import Alert, Delivery
from techscaniq.domain.config import AlertRule
from techscaniq.storage.protocols import Storage


def deliveries(alert: Alert, rule: AlertRule, kind: str, now: datetime) -> list[Delivery]:
    return [
        Delivery(
            id=delivery_id(alert.id, index, kind),
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


class Outbox:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def queue(self, alert: Alert, rule: AlertRule, kind: str, now: datetime) -> bool:
        """Store the deliveries of one notification; True when there is something to send."""
        queued = deliveries(alert, rule, kind, now)
        await self._storage.deliveries.add_many(queued)
        return bool(queued)

    async def ensure_triggered(self, alert: Alert, rule: AlertRule) -> bool:
        """Re-add a notified alert's deliveries (a no-op when they exist). False for an alert that is
        not notified (silenced, throttled, or a rule without channels)."""
        if alert.silenced or alert.throttled or not rule.notification_channels:
            return False
        await self.queue(alert, rule, "triggered", alert.triggered_at)
        return True
