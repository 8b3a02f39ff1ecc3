"""Derived ids: what makes handling one scan twice store nothing twice (storage ignores known ids)."""

from __future__ import annotations

import hashlib

from techscaniq.domain.change import Change


def stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def alert_id(config_id: str, rule_id: str, scan_id: str) -> str:
    """One alert per config, rule and scan."""
    return stable_id("alert", config_id, rule_id, scan_id)


def delivery_id(alert_id: str, channel_index: int, kind: str) -> str:
    """One delivery per alert, channel and kind (triggered / resolved)."""
    return stable_id("delivery", alert_id, str(channel_index), kind)


def dedupe_key(config_id: str, rule_id: str, changes: list[Change]) -> str:
    """Rule + config + the identities (kind, change type, subject) of the grouped changes."""
    subjects = sorted({f"{c.type.value}:{c.change_type.lower()}:{c.subject}" for c in changes})
    return stable_id("key", config_id, rule_id, *subjects)
