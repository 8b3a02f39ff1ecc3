"""Retention of changes, alerts and deliveries, applied by the hourly maintenance job: what is past its
setting goes, what is still current (an open alert, a delivery still to be sent) stays, a resolved alert takes
its deliveries with it, and an expired change stops keeping its scan as evidence. `techscaniq storage stats`
says what the next run will delete. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techscaniq.cli import main as cli_main
from techscaniq.domain.alert import Alert, AlertStatus, Delivery, DeliveryStatus
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def change(days_ago: float, scan_id: str = "scan-x") -> Change:
    return Change(organization_id="org-1", config_id="cfg-1", scan_id=scan_id, type=ChangeKind.TECHNOLOGY,
                  change_type="added", subject=f"jQuery {days_ago}", impact=Impact.MEDIUM, detected_at=ago(days_ago))


def alert(days_ago: float, status: AlertStatus) -> Alert:
    return Alert(organization_id="org-1", config_id="cfg-1", rule_id="rule-1", rule_name="Any", severity=Impact.LOW,
                 dedupe_key=f"k-{days_ago}-{status}", title="t", status=status, triggered_at=ago(days_ago),
                 resolved_at=ago(days_ago) if status is AlertStatus.RESOLVED else None)


def delivery(alert_id: str, days_ago: float, status: DeliveryStatus) -> Delivery:
    return Delivery(alert_id=alert_id, organization_id="org-1", config_id="cfg-1", rule_id="rule-1",
                    channel_index=0, channel_type="webhook", status=status, created_at=ago(days_ago),
                    next_attempt_at=ago(days_ago))


async def test_hourly_maintenance_expires_changes_alerts_and_deliveries(storage: SqlStorage) -> None:
    # The scan kept only as the evidence of a change past CHANGE_RETENTION_DAYS goes in the same run.
    evidence = ScanResult(config_id="cfg-1", organization_id="org-1", url="https://a.example/", started_at=ago(200))
    latest = ScanResult(config_id="cfg-1", organization_id="org-1", url="https://a.example/", started_at=ago(1))
    for scan in (evidence, latest):
        await storage.scans.add(scan)
    old_change, new_change = change(400, scan_id=evidence.id), change(10)
    await storage.changes.add_many([old_change, new_change])

    resolved_old, open_old, resolved_new = (alert(400, AlertStatus.RESOLVED), alert(400, AlertStatus.TRIGGERED),
                                            alert(10, AlertStatus.RESOLVED))
    for each in (resolved_old, open_old, resolved_new):
        await storage.alerts.add(each)
    of_resolved_old = delivery(resolved_old.id, 400, DeliveryStatus.DELIVERED)
    sent_old, dead_old, waiting_old = (delivery(open_old.id, 100, DeliveryStatus.DELIVERED),
                                       delivery(open_old.id, 100, DeliveryStatus.DEAD),
                                       delivery(open_old.id, 100, DeliveryStatus.FAILED))
    sent_new = delivery(resolved_new.id, 10, DeliveryStatus.DELIVERED)
    await storage.deliveries.add_many([of_resolved_old, sent_old, dead_old, waiting_old, sent_new])

    expiring = {kept.name: rows for kept, rows in await storage.expirable()}
    assert expiring == {"deliveries": 3, "alerts": 1, "changes": 1, "scans": 0}  # the evidence is still evidence

    await storage.maintain()
    assert await storage.changes.get(old_change.id) is None
    assert await storage.changes.get(new_change.id) is not None
    assert await storage.alerts.get(resolved_old.id) is None
    assert {a.id for a in await storage.alerts.find()} == {open_old.id, resolved_new.id}
    assert {d.id for d in await storage.deliveries.find()} == {waiting_old.id, sent_new.id}
    assert await storage.scans.get(evidence.id) is None
    assert await storage.scans.get(latest.id) is not None
    assert {kept.name: rows for kept, rows in await storage.expirable()} == {
        "deliveries": 0, "alerts": 0, "changes": 0, "scans": 0}


async def test_zero_keeps_changes_alerts_and_deliveries(storage: SqlStorage) -> None:
    storage._settings = storage._settings.model_copy(update={
        "change_retention_days": 0, "alert_retention_days": 0, "delivery_retention_days": 0})
    old = alert(4000, AlertStatus.RESOLVED)
    await storage.alerts.add(old)
    await storage.changes.add_many([change(4000)])
    await storage.deliveries.add_many([delivery(old.id, 4000, DeliveryStatus.DELIVERED)])
    await storage.maintain()
    assert len(await storage.alerts.find()) == len(await storage.changes.find()) == 1
    assert len(await storage.deliveries.find()) == 1


def test_storage_stats_shows_each_retention(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the project
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ALERT_RETENTION_DAYS", "0")
    assert cli_main(["storage", "stats"]) == 0
    out = capsys.readouterr().out
    assert "scan_shapes" in out
    assert "retention of deliveries (DELIVERY_RETENTION_DAYS=90): 0 older than 90 days will be deleted" in out
    assert "retention of alerts (ALERT_RETENTION_DAYS=0): off, kept forever" in out
    assert "retention of changes (CHANGE_RETENTION_DAYS=365)" in out
