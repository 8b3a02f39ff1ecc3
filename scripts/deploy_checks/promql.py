"""Metric names used by PromQL expressions (alert rules, Grafana panels) and metric names a /metrics
page exports, so the two can be compared. PromQL syntax itself is checked by promtool; this only needs
to find the metric names, which are the identifiers that are not functions, keywords, label names or
durations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan", "atan2",
}
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_SELECTORS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_NUMBER_SUFFIX = re.compile(r"(?<![\w:])\d[\w.]*")


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects, e.g. {'scans_failed_total', 'techscaniq_scans_total'}."""
    text = _STRINGS.sub(" ", expr)
    text = _SELECTORS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _NUMBER_SUFFIX.sub(" ", text)  # 1e3, 0.95, 5m
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}


def selector_labels(expr: str, metric: str) -> list[str]:
    """The label matchers written right after `metric`, e.g. ['job="techscaniq-monitoring"']."""
    return re.findall(rf"(?<![\w:]){re.escape(metric)}\s*\{{([^}}]*)\}}", expr)


def rule_expressions(path: Path) -> list[tuple[str, str]]:
    """(rule name, expression) of every alerting and recording rule of a Prometheus rules file."""
    document = yaml.safe_load(path.read_text())
    found = []
    for group in document.get("groups", []):
        for rule in group.get("rules", []):
            found.append((str(rule.get("alert") or rule.get("record")), str(rule["expr"])))
    return found


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def load_dashboard(path: Path) -> dict[str, Any]:
    """The dashboard model of a file holding either the model or the API payload {"dashboard": ...}."""
    document = json.loads(path.read_text())
    return document.get("dashboard", document)  # type: ignore[no-any-return]


def dashboard_expressions(path: Path) -> list[tuple[str, str]]:
    """(panel title, expression) of every query of a Grafana dashboard file."""
    return [(str(panel.get("title")), str(target["expr"]))
            for panel in dashboard_panels(load_dashboard(path))
            for target in panel.get("targets", []) if "expr" in target]


def exported_names(metrics_text: str) -> set[str]:
    """Every series name a Prometheus text page can produce, including metrics declared (HELP/TYPE) but
    without samples yet, such as a labelled counter before its first increment."""
    names: set[str] = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "counter":
                base = name.removesuffix("_total")
                names.update({f"{base}_total", f"{base}_created"})
            elif kind in ("histogram", "summary"):
                names.update({f"{name}_sum", f"{name}_count", f"{name}_created"})
                if kind == "histogram":
                    names.add(f"{name}_bucket")
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
