"""The `summary` field every change and alert carries on the way out (API answers, WebSocket messages):
the JSON document of the change or alert, plus its sentence."""

from __future__ import annotations

from typing import Any

from techscaniq.wording.alerts import describe_alert
from techscaniq.wording.changes import describe_change


def with_change_summary(change: dict[str, Any]) -> dict[str, Any]:
    return {**change, "summary": describe_change(change)}


def with_alert_summary(alert: dict[str, Any]) -> dict[str, Any]:
    return {**alert, "summary": describe_alert(alert)}
