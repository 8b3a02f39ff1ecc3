"""Match: which changes of one scan each rule selects, and which changes are recoveries (pure)."""

from __future__ import annotations

from techscaniq.alerts.rules import is_recovery, matching_changes
from techscaniq.domain.change import Change
from techscaniq.domain.config import AlertRule, MonitoringConfig


def own_changes(config: MonitoringConfig, changes: list[Change]) -> list[Change]:
    """A rule only ever sees its own site's changes."""
    return [c for c in changes if c.config_id == config.id]


def recoveries(changes: list[Change]) -> list[Change]:
    """Good news that resolves open alerts (not the ones a data update explains or a user rejected)."""
    return [c for c in changes if is_recovery(c) and not c.data_change and not c.false_positive]


def matches_by_rule(config: MonitoringConfig, changes: list[Change]) -> list[tuple[AlertRule, list[Change]]]:
    """Each rule with the changes it selects, in the config's rule order; rules selecting nothing left out."""
    selected = ((rule, matching_changes(rule, changes)) for rule in config.alert_rules)
    return [(rule, matched) for rule, matched in selected if matched]
