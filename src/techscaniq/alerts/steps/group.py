"""Group: the changes one rule selected in one scan become one alert; a repeat folds into the open alert.

An alert keeps bounded summaries of its changes (whatever the site sent); `occurrences` keeps counting."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from techscaniq.alerts.steps.identity import alert_id
from techscaniq.domain.alert import Alert
from techscaniq.domain.change import Change
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.observability.metrics import ALERTS_SUPPRESSED
from techscaniq.wording import alert_title, describe_change

# An alert keeps at most this many change summaries; the count of occurrences keeps growing.
MAX_CHANGES_PER_ALERT = 100
MAX_SUMMARY_VALUE = 2000  # characters of a change's subject / before / after kept in the alert


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
    # The sentence is made now, from the whole change: its evidence (the status code of a site that went
    # down, the reasons of a grade) is not kept in the alert.
    summary["summary"] = describe_change(change.model_dump(mode="json", include={
        "type", "change_type", "subject", "before", "after", "evidence"}))
    return summary


def new_alert(config: MonitoringConfig, rule: AlertRule, matched: list[Change], key: str, now: datetime) -> Alert:
    """The alert for one rule's changes of one scan (not stored yet)."""
    scan_id = matched[0].scan_id
    summaries = [change_summary(c) for c in matched[:MAX_CHANGES_PER_ALERT]]
    return Alert(
        id=alert_id(config.id, rule.id, scan_id),
        organization_id=config.organization_id,
        config_id=config.id,
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        dedupe_key=key,
        title=alert_title(config.name, summaries),
        change_ids=[c.id for c in matched][:MAX_CHANGES_PER_ALERT],
        changes=summaries,
        scan_id=scan_id,
        triggered_at=now,
    )


def fold_repeat(open_alert: Alert, matched: list[Change], now: datetime) -> bool:
    """Fold a later scan's repeat into the open alert. False when that scan is in it already (handled
    twice): nothing changes then. The caller stores the updated alert."""
    scan_id = matched[0].scan_id
    if any(s.get("scan_id") == scan_id for s in open_alert.changes):
        return False
    open_alert.occurrences += 1
    open_alert.last_occurred_at = now
    open_alert.change_ids = (open_alert.change_ids + [c.id for c in matched])[-MAX_CHANGES_PER_ALERT:]
    open_alert.changes = (open_alert.changes + [change_summary(c) for c in matched])[-MAX_CHANGES_PER_ALERT:]
    ALERTS_SUPPRESSED.labels(reason="open").inc()
    return True


def title(config: MonitoringConfig, changes: list[Change]) -> str:
    """'Shop — Site down: HTTP 503 and 1 more change' (the rule's name is shown beside it, not in it)."""
    return alert_title(config.name, [change_summary(change) for change in changes[:MAX_CHANGES_PER_ALERT]])
