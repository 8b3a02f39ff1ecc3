"""Alerts: rules (pure matching), the engine (dedupe, throttle, silences, lifecycle), channels, and the
notifier that delivers from the outbox."""

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.alerts.rules import matches, matching_changes
from techscaniq.alerts.silences import InMemorySilenceStore, Silence, SilenceStore

__all__ = [
    "AlertEngine",
    "InMemorySilenceStore",
    "Notifier",
    "Silence",
    "SilenceStore",
    "matches",
    "matching_changes",
]
