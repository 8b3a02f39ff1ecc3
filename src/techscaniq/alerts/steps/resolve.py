"""Resolve: recoveries (a site back up, a finding fixed) resolve the open alerts they answer, and an alert
resolved by hand the same way; the resolved notification is queued when the rule asks for one."""

from __future__ import annotations

from datetime import datetime

from techscaniq.alerts.steps.outbox import Outbox
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.change import Change
from techscaniq.domain.config import MonitoringConfig
from techscaniq.observability.metrics import ALERT_RESOLUTION
from techscaniq.storage.protocols import Storage

OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)


class Resolver:
    def __init__(self, storage: Storage, outbox: Outbox) -> None:
        self._storage = storage
        self._outbox = outbox

    async def resolve_recovered(
        self, config: MonitoringConfig, recoveries: list[Change], now: datetime
    ) -> list[tuple[Alert, bool]]:
        """Mark the recovered changes in the config's open alerts; an alert whose changes all recovered
        is resolved. Returns each touched alert and whether a notification was queued for it."""
        recovered = {(c.type.value, c.subject) for c in recoveries}
        results: list[tuple[Alert, bool]] = []
        for status in OPEN_STATUSES:
            for alert in await self._storage.alerts.find(config_id=config.id, status=status, limit=10_000):
                touched = False
                for summary in alert.changes:
                    if (summary.get("type"), summary.get("subject")) in recovered and not summary.get("recovered_at"):
                        summary["recovered_at"] = now.isoformat()
                        touched = True
                if not touched:
                    continue
                if all(s.get("recovered_at") for s in alert.changes):
                    results.append((alert, await self.mark_resolved(alert, config, now)))
                else:
                    await self._storage.alerts.update(alert)
                    results.append((alert, False))
        return results

    async def mark_resolved(self, alert: Alert, config: MonitoringConfig | None, now: datetime) -> bool:
        """Resolve, observe the resolution time, queue the resolved notification if wanted."""
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        rule = config.rule(alert.rule_id) if config is not None else None
        queued = False
        if rule is not None and rule.notify_on_resolve and not (alert.silenced or alert.throttled):
            # Outbox first: a crash before the update leaves the alert open, and the retry re-adds nothing.
            queued = await self._outbox.queue(alert, rule, "resolved", now)
        await self._storage.alerts.update(alert)
        ALERT_RESOLUTION.observe(max(0.0, (now - alert.triggered_at).total_seconds()))
        return queued

