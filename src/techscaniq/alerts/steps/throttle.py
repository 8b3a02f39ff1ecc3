"""Throttle: at most one notification per dedupe key within the rule's `throttle_minutes`.

A throttled alert is recorded but not notified; the next notified alert of the key counts the repeats
nobody heard about (`suppressed_count`). With several replicas a Redis gate (coordination/alert_gate.py)
holds the window in front of the database check; the database stays the truth when Redis forgot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from techscaniq.domain.alert import Alert
from techscaniq.domain.config import AlertRule
from techscaniq.storage.protocols import Storage

if TYPE_CHECKING:
    from techscaniq.coordination.alert_gate import AlertGate


class Throttle:
    def __init__(self, storage: Storage, gate: AlertGate | None = None) -> None:
        self._storage = storage
        self._gate = gate

    async def apply(self, alert: Alert, rule: AlertRule, now: datetime) -> bool:
        """Mark the alert throttled when its key was notified inside the window (True), or count the
        repeats since the last notification into it (False)."""
        key = alert.dedupe_key
        throttle = timedelta(minutes=rule.throttle_minutes)
        window = None
        if self._gate is not None and throttle:
            window = await self._gate.claim_window(key, alert.id, throttle.total_seconds())
        if window is False:
            alert.throttled = True  # another alert owns the window: no database read
            return True
        last = await self._storage.alerts.last_notified(key)
        if last is None:
            return False
        if now - last.triggered_at < throttle:
            alert.throttled = True
            if window and self._gate is not None:  # Redis had lost the window: give it back to its owner
                await self._gate.hold_window(key, last.id, (last.triggered_at + throttle - now).total_seconds())
            return True
        alert.suppressed_count = await self._suppressed_since(last)
        return False

    async def _suppressed_since(self, last: Alert) -> int:
        """Repeats of `last`'s key not notified since it was: folded into it, or recorded as throttled."""
        later = await self._storage.alerts.find(
            organization_id=last.organization_id, config_id=last.config_id, since=last.triggered_at, limit=10_000
        )
        throttled = sum(a.occurrences for a in later if a.dedupe_key == last.dedupe_key and a.throttled)
        return last.occurrences - 1 + throttled
