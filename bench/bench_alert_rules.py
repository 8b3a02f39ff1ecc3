"""Alert evaluation benchmark: 10,000 rules across 1,000 organizations (one monitored site and ten
rules each), one scan of five changes per organization.

    .venv/bin/python -m bench.bench_alert_rules [--organizations 1000] [--rules-per-org 10]

Reports
- rule matching: (rule, change) evaluations per second of the pure matcher, and whole scans evaluated
  against all of their config's rules per second;
- engine: scans per second and alerts stored per second through AlertEngine.handle_changes on the real
  embedded SQLite storage (dedupe and throttle lookups, the alert, its outbox deliveries).
Each next to a reference measured in the same run: decoding the same changes from JSON (what receiving
the change.detected event costs) for the matcher, and bare `alerts.add` of the same number of alerts
(the storage floor) for the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.rules import matches
from techscaniq.domain.alert import Alert
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact, new_id
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

RULE_SHAPES = [
    {"type": "technology", "change_types": ["added", "removed"], "min_impact": "medium"},
    {"type": "technology", "technologies": ["jQuery", "WordPress", "React"]},
    {"type": "technology", "categories": ["CMS", "Ecommerce"]},
    {"type": "performance", "change_types": ["regressed"], "metrics": ["load_time", "ttfb"]},
    {"type": "performance", "min_impact": "high"},
    {"type": "security", "min_impact": "high"},
    {"type": "security", "change_types": ["grade_changed", "header_removed"]},
    {"type": "availability", "change_types": ["down"]},
    {"type": "any", "min_impact": "critical"},
    {"type": "any", "change_types": ["added"], "technologies": ["Nginx"]},
]


def build(organizations: int, rules_per_org: int) -> tuple[list[MonitoringConfig], list[list[Change]]]:
    configs, scans = [], []
    for org in range(organizations):
        rules = [
            AlertRule.model_validate({
                "id": f"r{r}", "name": f"rule {r}", "conditions": RULE_SHAPES[(org + r) % len(RULE_SHAPES)],
                "notification_channels": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
                "throttle_minutes": 60,
            })
            for r in range(rules_per_org)
        ]
        config = MonitoringConfig(
            id=f"cfg-{org}", organization_id=f"org-{org}", name=f"site {org}", url=f"https://site{org}.example/",
            schedule={"type": "interval", "expression": "5m"}, alert_rules=rules,
        )
        scan_id = f"scan-{org}"
        common = {"organization_id": config.organization_id, "config_id": config.id, "scan_id": scan_id}
        changes = [
            Change(id=new_id(), type=ChangeKind.TECHNOLOGY, change_type="added",
                   subject=["jQuery", "Nginx", "Vue"][org % 3], impact=Impact.MEDIUM,
                   evidence={"categories": ["JavaScript libraries"]}, **common),
            Change(id=new_id(), type=ChangeKind.TECHNOLOGY, change_type="upgraded", subject="WordPress",
                   before="6.4", after="6.5", impact=Impact.LOW, evidence={"categories": ["CMS"]}, **common),
            Change(id=new_id(), type=ChangeKind.PERFORMANCE, change_type="regressed", subject="load_time",
                   before=800, after=1900, impact=Impact.HIGH if org % 2 else Impact.MEDIUM, **common),
            Change(id=new_id(), type=ChangeKind.SECURITY, change_type="header_removed",
                   subject="Strict-Transport-Security", impact=Impact.MEDIUM, **common),
            Change(id=new_id(), type=ChangeKind.AVAILABILITY, change_type="down" if org % 10 == 0 else "slow",
                   subject="site", impact=Impact.CRITICAL if org % 10 == 0 else Impact.LOW, **common),
        ]
        configs.append(config)
        scans.append(changes)
    return configs, scans


def bench_matching(configs: list[MonitoringConfig], scans: list[list[Change]]) -> None:
    pairs = sum(len(c.alert_rules) * len(s) for c, s in zip(configs, scans, strict=True))
    started = time.perf_counter()
    selected = 0
    for config, changes in zip(configs, scans, strict=True):
        for rule in config.alert_rules:
            selected += sum(1 for change in changes if matches(rule.conditions, change))
    elapsed = time.perf_counter() - started

    encoded = [[c.model_dump_json() for c in changes] for changes in scans]
    started = time.perf_counter()
    for batch in encoded:
        for text in batch:
            Change.model_validate(json.loads(text))
    decode = time.perf_counter() - started
    changes_total = sum(len(s) for s in scans)
    print(f"rule matching: {pairs:,} (rule, change) evaluations in {elapsed * 1000:.1f} ms "
          f"= {pairs / elapsed:,.0f} evaluations/s; {len(scans) / elapsed:,.0f} scans/s against all their rules "
          f"({selected:,} matches)")
    print(f"  reference: decoding the {changes_total:,} changes from JSON took {decode * 1000:.1f} ms "
          f"= {changes_total / decode:,.0f} changes/s; evaluating all {len(configs[0].alert_rules)} rules of a "
          f"config costs {elapsed / changes_total / (decode / changes_total):.2f}x decoding the change")


async def bench_engine(configs: list[MonitoringConfig], scans: list[list[Change]], directory: Path) -> None:
    settings = Settings(_env_file=None, database_url=None, data_dir=directory / "engine")  # type: ignore[call-arg]
    storage = SqlStorage(settings)
    await storage.start()
    engine = AlertEngine(storage, settings)
    started = time.perf_counter()
    alerts = 0
    for config, changes in zip(configs, scans, strict=True):
        alerts += len(await engine.handle_changes(config, changes))
    elapsed = time.perf_counter() - started
    again = time.perf_counter()
    for config, changes in zip(configs[:100], scans[:100], strict=True):
        await engine.handle_changes(config, changes)  # re-delivered events: nothing new is stored
    replay = (time.perf_counter() - again) / 100
    deliveries = len(await storage.deliveries.find(limit=1_000_000))
    await storage.close()

    ref_settings = Settings(_env_file=None, database_url=None, data_dir=directory / "ref")  # type: ignore[call-arg]
    reference = SqlStorage(ref_settings)
    await reference.start()
    started = time.perf_counter()
    for i in range(alerts):
        await reference.alerts.add(Alert(organization_id="o", config_id="c", rule_id="r", rule_name="r",
                                         severity=Impact.MEDIUM, dedupe_key=f"k{i}", title="t"))
    floor = time.perf_counter() - started
    await reference.close()
    print(f"engine (SQLite): {len(scans):,} scans -> {alerts:,} alerts, {deliveries:,} outbox deliveries in "
          f"{elapsed:.2f} s = {len(scans) / elapsed:,.0f} scans/s, {alerts / elapsed:,.0f} alerts/s; "
          f"a re-delivered scan costs {replay * 1000:.2f} ms")
    print(f"  reference: bare alerts.add of {alerts:,} alerts took {floor:.2f} s = {alerts / floor:,.0f} alerts/s; "
          f"the engine costs {elapsed / floor:.2f}x the bare inserts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--rules-per-org", type=int, default=10)
    args = parser.parse_args()
    configs, scans = build(args.organizations, args.rules_per_org)
    print(f"{args.organizations:,} organizations, {args.organizations * args.rules_per_org:,} rules, "
          f"{sum(len(s) for s in scans):,} changes")
    bench_matching(configs, scans)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench_engine(configs, scans, Path(tmp)))


if __name__ == "__main__":
    main()
