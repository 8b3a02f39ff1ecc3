"""One contract for every storage backend: what callers rely on, including idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from techscaniq.domain.alert import Alert, AlertStatus, Delivery, DeliveryStatus
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.storage.protocols import MetricPoint
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.custom_fingerprints import DisabledPattern

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_config(org: str = "org-a", name: str = "site") -> MonitoringConfig:
    return MonitoringConfig.model_validate(
        {
            "organization_id": org,
            "name": name,
            "url": "https://example.com",
            "schedule": {"type": "interval", "expression": "60s"},
            "alert_rules": [
                {
                    "name": "r",
                    "notification_channels": [{"type": "slack", "webhook_url": "https://hooks.example/secret"}],
                }
            ],
        }
    )


async def test_configs_round_trip_with_secrets_and_tenant_scope(storage: SqlStorage) -> None:
    config = make_config()
    await storage.configs.add(config, next_run_at=T0)
    loaded = await storage.configs.get(config.id)
    assert loaded == config
    channel = loaded.alert_rules[0].notification_channels[0]
    assert channel.webhook_url.get_secret_value() == "https://hooks.example/secret"  # type: ignore[union-attr]
    assert await storage.configs.get(config.id, organization_id="org-b") is None
    assert await storage.configs.next_run_at(config.id) == T0
    config.name = "renamed"
    assert await storage.configs.update(config, next_run_at=T0 + timedelta(minutes=1))
    assert (await storage.configs.get(config.id)).name == "renamed"  # type: ignore[union-attr]
    assert await storage.configs.count(organization_id="org-a") == 1
    assert not await storage.configs.delete(config.id, organization_id="org-b")
    assert await storage.configs.delete(config.id, organization_id="org-a")
    assert await storage.configs.get(config.id) is None


async def test_due_runs_are_claimed_once_until_completed_or_lease_expires(storage: SqlStorage) -> None:
    due, later, paused = make_config(name="due"), make_config(name="later"), make_config(name="paused")
    paused.paused = True
    await storage.configs.add(due, next_run_at=T0)
    await storage.configs.add(later, next_run_at=T0 + timedelta(hours=1))
    await storage.configs.add(paused, next_run_at=T0)

    first, second = await asyncio.gather(
        storage.configs.claim_due(T0, 10, lease_seconds=60, owner="a"),
        storage.configs.claim_due(T0, 10, lease_seconds=60, owner="b"),
    )
    assert [run.config_id for run in first + second] == [due.id]
    assert (first + second)[0].due_at == T0
    # The lease of a dead owner expires and the run is claimed again.
    again = await storage.configs.claim_due(T0 + timedelta(seconds=61), 10, lease_seconds=60, owner="c")
    assert [run.config_id for run in again] == [due.id]
    await storage.configs.complete_run(due.id, T0, next_run_at=T0 + timedelta(minutes=1))
    assert await storage.configs.claim_due(T0 + timedelta(seconds=30), 10, 60, "a") == []
    assert await storage.configs.next_run_at(due.id) == T0 + timedelta(minutes=1)
    # Completing a run that is no longer current changes nothing.
    await storage.configs.complete_run(due.id, T0, next_run_at=T0 + timedelta(days=1))
    assert await storage.configs.next_run_at(due.id) == T0 + timedelta(minutes=1)


async def test_claims_take_the_organization_with_least_in_flight_first_however_small(storage: SqlStorage) -> None:
    """Fair across replicas: A has runs in flight (claimed by some replica) and older due runs; a claim of
    one run (a replica with one free worker) still takes B's newer one, then shares out by turns."""
    flood = [make_config("org-a", f"a{index}") for index in range(8)]
    for config in flood:
        await storage.configs.add(config, next_run_at=T0)
    in_flight = await storage.configs.claim_due(T0, 3, lease_seconds=60, owner="replica-1")
    assert len(in_flight) == 3
    b1, b2 = make_config("org-b", "b1"), make_config("org-b", "b2")
    await storage.configs.add(b1, next_run_at=T0 + timedelta(seconds=5))
    await storage.configs.add(b2, next_run_at=T0 + timedelta(seconds=6))
    now = T0 + timedelta(seconds=10)
    [first] = await storage.configs.claim_due(now, 1, lease_seconds=60, owner="replica-2")
    assert first.config_id == b1.id
    # B: 1 in flight, 1 due; A: 3 in flight, 5 due. B's second ranks 2, A's next ones 4, 5, ...
    rest = await storage.configs.claim_due(now, 3, lease_seconds=60, owner="replica-1")
    assert len(rest) == 3 and rest[0].config_id == b2.id
    assert {run.config_id for run in rest[1:]} <= {c.id for c in flood}


async def test_scans_are_stored_once_with_body_and_history_order(storage: SqlStorage) -> None:
    scans = [
        ScanResult(config_id="c1", organization_id="org-a", url="https://e.x", started_at=T0 + timedelta(minutes=i))
        for i in range(3)
    ]
    for scan in scans:
        assert await storage.scans.add(scan, body=b"<html>" + scan.id.encode())
    assert not await storage.scans.add(scans[0])
    assert await storage.scans.body(scans[1].id) == b"<html>" + scans[1].id.encode()
    history = await storage.scans.previous("c1", before=scans[2].started_at)
    assert [s.id for s in history] == [scans[1].id, scans[0].id]
    assert (await storage.scans.get(scans[0].id)) == scans[0]
    assert await storage.scans.get(scans[0].id, organization_id="org-b") is None
    assert await storage.scans.count("c1", status=ScanStatus.SUCCESS) == 3
    assert [s.id for s in await storage.scans.pending("changes")] == [s.id for s in scans]
    await storage.scans.mark_done(scans[0].id, "changes")
    assert [s.id for s in await storage.scans.pending("alerts")] == [scans[0].id]


async def test_metric_series_oldest_first_and_idempotent(storage: SqlStorage) -> None:
    points = [MetricPoint("org-a", "c1", f"s{i}", "ttfb_ms", float(i), T0 + timedelta(minutes=i)) for i in range(5)]
    await storage.metrics.add(points)
    await storage.metrics.add(points[:2])
    series = await storage.metrics.series("c1", "ttfb_ms", since=T0 + timedelta(minutes=1))
    assert [p.value for p in series] == [1.0, 2.0, 3.0, 4.0]


async def test_changes_dedupe_filters_and_false_positive(storage: SqlStorage) -> None:
    change = Change(
        organization_id="org-a", config_id="c1", scan_id="s1", type=ChangeKind.TECHNOLOGY,
        change_type="added", subject="jQuery", impact=Impact.MEDIUM, detected_at=T0,
    )
    assert await storage.changes.add_many([change]) == [change]
    repeat = change.model_copy(update={"id": "other"})
    assert await storage.changes.add_many([repeat]) == []
    assert [c.id for c in await storage.changes.find(organization_id="org-a", min_impact=Impact.MEDIUM)] == [change.id]
    assert await storage.changes.find(organization_id="org-a", min_impact=Impact.HIGH) == []
    assert await storage.changes.find(organization_id="org-b") == []
    assert not await storage.changes.mark_false_positive(change.id, "org-b")
    assert await storage.changes.mark_false_positive(change.id, "org-a")
    assert (await storage.changes.get(change.id)).false_positive  # type: ignore[union-attr]
    assert await storage.changes.count(false_positive=True) == 1


async def test_alerts_open_and_notified_lookups(storage: SqlStorage) -> None:
    base = {"organization_id": "org-a", "config_id": "c1", "rule_id": "r", "rule_name": "r",
            "severity": Impact.HIGH, "dedupe_key": "r:c1:jQuery", "title": "jQuery added"}
    notified = Alert(**base, triggered_at=T0)
    throttled = Alert(**base, triggered_at=T0 + timedelta(minutes=1), throttled=True)
    assert await storage.alerts.add(notified)
    assert not await storage.alerts.add(notified)
    await storage.alerts.add(throttled)
    assert (await storage.alerts.last_notified("r:c1:jQuery")).id == notified.id  # type: ignore[union-attr]
    assert (await storage.alerts.find_open("r:c1:jQuery")).id == throttled.id  # type: ignore[union-attr]
    throttled.status = AlertStatus.RESOLVED
    await storage.alerts.update(throttled)
    assert (await storage.alerts.find_open("r:c1:jQuery")).id == notified.id  # type: ignore[union-attr]
    assert len(await storage.alerts.find(organization_id="org-a", status=AlertStatus.RESOLVED)) == 1


async def test_outbox_due_claim_and_update(storage: SqlStorage) -> None:
    delivery = Delivery(alert_id="a1", organization_id="org-a", config_id="c1", rule_id="r",
                        channel_index=0, channel_type="webhook", next_attempt_at=T0)
    await storage.deliveries.add_many([delivery])
    await storage.deliveries.add_many([delivery])
    assert [d.id for d in await storage.deliveries.due(T0)] == [delivery.id]
    assert await storage.deliveries.claim(delivery.id, lease_until=T0 + timedelta(seconds=30), now=T0)
    assert not await storage.deliveries.claim(delivery.id, lease_until=T0 + timedelta(seconds=30), now=T0)
    assert await storage.deliveries.due(T0) == []
    delivery.status = DeliveryStatus.DELIVERED
    await storage.deliveries.update(delivery)
    assert await storage.deliveries.due(T0 + timedelta(hours=1)) == []
    assert [d.status for d in await storage.deliveries.list_for_alert("a1")] == [DeliveryStatus.DELIVERED]


async def test_processed_events_ledger(storage: SqlStorage) -> None:
    assert not await storage.processed.seen("detector", "e1")
    await storage.processed.mark("detector", "e1")
    await storage.processed.mark("detector", "e1")
    assert await storage.processed.seen("detector", "e1")
    assert not await storage.processed.seen("alerts", "e1")


async def test_keyset_pages_walk_every_row_once_in_id_order(storage: SqlStorage) -> None:
    changes = [Change(organization_id="org-a", config_id="c1", scan_id=f"s{n}", type=ChangeKind.TECHNOLOGY,
                      change_type="added", subject=f"lib{n}", detected_at=T0 + timedelta(minutes=n))
               for n in range(7)]
    await storage.changes.add_many(changes)
    walked: list[str] = []
    after: str | None = None
    while page := await storage.changes.page(after, limit=3):
        walked += [c.id for c in page]
        after = page[-1].id
    assert walked == sorted(c.id for c in changes)
    recent = await storage.changes.page(limit=100, since=T0 + timedelta(minutes=5))
    assert sorted(c.subject for c in recent) == ["lib5", "lib6"]
    configs = [make_config(name=f"site{n}") for n in range(4)]
    for config in configs:
        await storage.configs.add(config, next_run_at=None)
    first = await storage.configs.page(limit=2)
    rest = await storage.configs.page(first[-1].id, limit=10)
    assert [c.id for c in first + rest] == sorted(c.id for c in configs)


async def test_disabled_patterns_belong_to_the_set_they_were_found_in(storage: SqlStorage) -> None:
    first, second = T0, T0 + timedelta(seconds=5)
    await storage.custom_fingerprints.put("org-a", {"Stall": {"html": "(a|a)+y"}}, first)

    def found(version: datetime, pattern_id: str) -> DisabledPattern:
        return DisabledPattern("org-a", pattern_id, version, "Stall", "html", None, "(a|a)+y", "over budget", version)

    await storage.custom_fingerprints.disable([found(first, "p1"), found(first, "p1")])  # twice: recorded once
    assert [d.pattern_id for d in await storage.custom_fingerprints.disabled("org-a")] == ["p1"]
    assert await storage.custom_fingerprints.disabled("org-b") == []

    await storage.custom_fingerprints.put("org-a", {"Stall": {"html": "(a|a)+y"}}, second)  # replaced: cleared
    assert await storage.custom_fingerprints.disabled() == []
    # A replica still scanning with the old set records a pattern after the replacement: it does not count.
    await storage.custom_fingerprints.disable([found(first, "p2")])
    assert await storage.custom_fingerprints.disabled() == []
    await storage.custom_fingerprints.disable([found(second, "p3")])
    [row] = await storage.custom_fingerprints.disabled()
    assert (row.pattern_id, row.set_version, row.disabled_at, row.key) == ("p3", second, second, None)
