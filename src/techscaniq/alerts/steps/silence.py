"""Silence: an alert raised inside a silence or maintenance window is recorded but not notified."""

from __future__ import annotations

from datetime import datetime

from techscaniq.alerts.silences import SilenceStore
from techscaniq.domain.alert import Alert


async def apply_silence(silences: SilenceStore, alert: Alert, now: datetime) -> str | None:
    """Mark the alert silenced when a silence covers its config now; returns the silence's kind, or None."""
    silence = await silences.active(alert.organization_id, alert.config_id, now)
    if silence is None:
        return None
    alert.silenced = True
    return silence.kind
