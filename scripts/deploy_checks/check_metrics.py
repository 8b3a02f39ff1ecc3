"""Check that alert rules and Grafana dashboards query only metrics the application exports.

    python scripts/deploy_checks/check_metrics.py                       # starts the system, reads its /metrics
    python scripts/deploy_checks/check_metrics.py --metrics-file page.txt --rules r.yml --dashboard d.json

The exported names come from a live /metrics page (HELP/TYPE lines count, so a labelled counter that
has not been incremented yet is still known). `up` is Prometheus's own metric and is accepted only for
a scrape job defined in monitoring/prometheus/prometheus.yml. Also checks that each dashboard loads and
is well formed. With --emit-promql-rules it writes every panel query as a recording rule so that
`promtool check rules` verifies their PromQL syntax; with --emit-healthy-test it writes a `promtool test
rules` file that replays the live page of the healthy system for 30 minutes and expects no alert."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from promql import (
    dashboard_expressions,
    dashboard_panels,
    exported_names,
    load_dashboard,
    metric_names,
    rule_expressions,
    selector_labels,
)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def scrape_jobs(prometheus_config: Path) -> set[str]:
    document = yaml.safe_load(prometheus_config.read_text())
    return {str(job["job_name"]) for job in document.get("scrape_configs", [])}


def unknown_metrics(queries: list[tuple[str, str]], exported: set[str], jobs: set[str], where: str) -> list[str]:
    problems = []
    for name, expr in queries:
        for metric in sorted(metric_names(expr)):
            if metric in PROMETHEUS_SYNTHETIC:
                matchers = " ".join(selector_labels(expr, metric))
                if not any(f'job="{job}"' in matchers for job in jobs):
                    problems.append(f"{where}: {name}: `{metric}` must select a scrape job of prometheus.yml "
                                    f"({', '.join(sorted(jobs))})")
            elif metric not in exported:
                problems.append(f"{where}: {name}: metric `{metric}` is not exported by the application")
    return problems


def dashboard_problems(path: Path) -> list[str]:
    """A dashboard Grafana can import: title, uid, unique panel ids, queries with a datasource, no overlap."""
    try:
        dashboard = load_dashboard(path)
    except (ValueError, KeyError) as error:
        return [f"{path}: not a dashboard JSON: {error}"]
    problems = [f"{path}: missing `{key}`" for key in ("title", "uid", "panels") if not dashboard.get(key)]
    ids: set[Any] = set()
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard_panels(dashboard):
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"{path}: panel {title!r}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")) or grid["x"] + grid["w"] > 24:
            problems.append(f"{path}: panel {title!r}: gridPos needs integer h, w, x, y within 24 columns")
            continue
        for row in range(grid["y"], grid["y"] + grid["h"]):
            for column in range(grid["x"], grid["x"] + grid["w"]):
                if (row, column) in cells:
                    problems.append(f"{path}: panel {title!r} overlaps {cells[(row, column)]!r}")
                    break
                cells[(row, column)] = title
            else:
                continue
            break
        if panel.get("type") == "row":
            continue
        targets = panel.get("targets") or []
        if not targets or not all(t.get("expr") for t in targets):
            problems.append(f"{path}: panel {title!r}: every panel needs targets with a PromQL `expr`")
        if not panel.get("datasource"):
            problems.append(f"{path}: panel {title!r}: no datasource")
    return problems


def emit_promql_rules(dashboards: list[Path], out: Path) -> None:
    rules = [{"record": f"dashboard:query_{index}", "expr": expr}
             for index, (_, expr) in enumerate(q for d in dashboards for q in dashboard_expressions(d))]
    out.write_text(yaml.safe_dump({"groups": [{"name": "dashboard_queries", "rules": rules}]}, sort_keys=False))


def healthy_system_test(page: str, rules: list[Path], job: str) -> dict[str, Any]:
    """A promtool unit test: every sample of a healthy system's page, scraped unchanged for 30 minutes
    (plus `up` = 1), and no alert of `rules` firing."""
    import math

    from prometheus_client.parser import text_string_to_metric_families

    labels = {"job": job, "instance": "live:8000"}
    series = [{"series": f"up{_selector(labels)}", "values": "1x30"}]
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if math.isfinite(sample.value):
                series.append({"series": f"{sample.name}{_selector({**sample.labels, **labels})}",
                               "values": f"{sample.value!r}x30"})
    alerts = [name for path in rules for name, _ in rule_expressions(path)]
    return {"rule_files": [str(path.resolve()) for path in rules], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series,
                       "alert_rule_test": [{"eval_time": "30m", "alertname": name, "exp_alerts": []}
                                           for name in alerts]}]}


def _selector(labels: dict[str, str]) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return "{" + ", ".join(f"{name}={quoted(value)}" for name, value in sorted(labels.items())) + "}"


def health_problems(health: dict[str, Any], page: str) -> list[str]:
    """The health gauges say what /health says: each running component and the database export 1."""
    from prometheus_client.parser import text_string_to_metric_families

    values = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
              for family in text_string_to_metric_families(page) for sample in family.samples}
    problems = []
    for name, component in health.get("components", {}).items():
        if component.get("status") == "running" and values.get(
                ("techscaniq_component_up", (("component", name),))) != 1:
            problems.append(f"/health reports component {name} running but techscaniq_component_up"
                            f'{{component="{name}"}} is not 1')
    if health.get("components", {}).get("database", {}).get("status") == "running" and values.get(
            ("techscaniq_database_up", ())) != 1:
        problems.append("/health reports the database running but techscaniq_database_up is not 1")
    return problems


def live_pages() -> tuple[str, dict[str, Any]]:
    """/metrics and /health of a freshly started system (embedded, free ports)."""
    from live_system import LiveSystem

    with LiveSystem(python=sys.executable) as system:
        status, body = system.get("http", "/health")
        health = json.loads(body)
        if status != 200:
            raise SystemExit(f"GET /health answered {status}: {body}")
        status, page = system.get("http", "/metrics")
        if status != 200:
            raise SystemExit(f"GET /metrics answered {status}")
        print(f"ok: live system answered /metrics ({len(page.splitlines())} lines) on port {system.ports['http']}")
        return page, health


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics-file", type=Path, help="a saved /metrics page instead of a live system")
    parser.add_argument("--rules", type=Path, action="append")
    parser.add_argument("--dashboard", type=Path, action="append")
    parser.add_argument("--prometheus-config", type=Path, default=ROOT / "monitoring/prometheus/prometheus.yml")
    parser.add_argument("--emit-promql-rules", type=Path, help="write the dashboard queries as a rules file")
    parser.add_argument("--healthy-test", type=Path,
                        help="instead: check the health gauges of a healthy system and write a promtool test "
                             "that replays its page and expects no alert")
    args = parser.parse_args(argv)
    rules = args.rules or [ROOT / "monitoring/prometheus/alerts.yml"]
    dashboards = args.dashboard or sorted((ROOT / "monitoring/grafana/dashboards").glob("*.json"))
    jobs = scrape_jobs(args.prometheus_config)

    if args.healthy_test:
        page, health = live_pages()
        problems = health_problems(health, page)
        args.healthy_test.write_text(yaml.safe_dump(healthy_system_test(page, rules, sorted(jobs)[0]),
                                                    sort_keys=False))
    else:
        problems = [p for d in dashboards for p in dashboard_problems(d)]
        if args.emit_promql_rules and not problems:
            emit_promql_rules(dashboards, args.emit_promql_rules)
        page = args.metrics_file.read_text() if args.metrics_file else live_pages()[0]
        exported = exported_names(page)
        for path in rules:
            problems += unknown_metrics(rule_expressions(path), exported, jobs, str(path))
        for path in dashboards:
            if not any(p.startswith(f"{path}:") for p in problems):
                problems += unknown_metrics(dashboard_expressions(path), exported, jobs, str(path))
        if not problems:
            queries = sum(len(rule_expressions(p)) for p in rules) + sum(len(dashboard_expressions(d))
                                                                         for d in dashboards)
            print(f"ok: {queries} queries in {len(rules)} rule file(s) and {len(dashboards)} dashboard(s) "
                  f"use only exported metrics")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
