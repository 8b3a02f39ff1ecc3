"""Store: the alert saved under its derived id. An id the database has already is the dedupe: this scan
was handled before (a redelivered event, a restart half-way) or by a concurrent handler."""

from __future__ import annotations

import logging
from typing import NamedTuple

from techscaniq.domain.alert import Alert
from techscaniq.observability.metrics import ALERTS_SUPPRESSED, ALERTS_TRIGGERED
from techscaniq.storage.protocols import Storage

log = logging.getLogger("techscaniq.alerts.engine")


class Stored(NamedTuple):
    new: bool  # this call stored the alert
    earlier: Alert | None = None  # else: the alert stored before under its id (None if gone since)


async def store_alert(storage: Storage, alert: Alert, suppressed_reason: str | None) -> Stored:
    """Store a new alert, counted as triggered (and as suppressed when it will not be notified)."""
    if not await storage.alerts.add(alert):
        return Stored(new=False, earlier=await storage.alerts.get(alert.id))
    ALERTS_TRIGGERED.labels(severity=alert.severity.value).inc()
    if suppressed_reason is not None:
        ALERTS_SUPPRESSED.labels(reason=suppressed_reason).inc()
        log.info("alert %s recorded without notification (%s)", alert.id, suppressed_reason)
    return Stored(new=True)
