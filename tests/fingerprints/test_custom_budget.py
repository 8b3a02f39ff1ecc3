"""Tenants' patterns run through the `regex` module with a time budget (see Pattern.budgeted): they detect and
extract versions exactly as the `re` path does, and one over its budget stops running, nothing else."""

from __future__ import annotations

import time
from typing import Any

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData
from techscaniq.scanning.fingerprints.database import database_from_json
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.settings import Settings

CUSTOM: dict[str, Any] = {
    "Acme CMS": {"cats": [1], "headers": {"X-Powered-By": "AcmeCMS(?:/([\\d.]+))?\\;version:\\1"}},
    "Acme Shop": {"cats": [1], "meta": {"generator": "^Acme (?<major>\\d+)\\.(\\d+)\\;version:\\1.\\2"}},
    "Acme Widget": {"cats": [1], "scriptSrc": "acme-widget-([\\d.]+)(?:\\.min)?\\.js\\;version:\\1",
                    "html": "<div[^>]+data-acme-widget=\"v(\\d+)\\;version:\\1\\;confidence:50"},
    "Acme Beta": {"cats": [1], "html": "acme-beta(?:-(rc\\d))?\\;version:\\1?2.0-beta:2.0"},
    "Stall": {"cats": [1], "text": "(a|a)+(?=y)"},
}
PAGE = PageData(
    url="https://shop.example.com/",
    headers=[("X-Powered-By", "AcmeCMS/4.2.1")],
    html='<html><head><meta name="generator" content="Acme 7.3"><script src="/js/acme-widget-2.10.0.min.js">'
         '</script></head><body><div class="w" data-acme-widget="v3"></div><!-- acme-beta-rc2 --><p>x'
         + "a" * 30 + "</p></body></html>",
)


def engine(budget: float | None) -> FingerprintEngine:
    database = database_from_json(CUSTOM)
    if budget is not None:
        for technology in database.technologies.values():
            for pattern in technology.patterns:
                pattern.budgeted(budget)
    return FingerprintEngine(database)


def found(detections: list[Any]) -> dict[str, tuple[str | None, int]]:
    return {d.name: (d.version, d.confidence) for d in detections}


def test_a_budgeted_pattern_detects_and_extracts_versions_like_re() -> None:
    budgeted = engine(0.05)
    assert budgeted.tenant_patterns  # the analyzer runs this engine in a worker thread
    detections = found(budgeted.analyze(PAGE))
    assert detections == {"Acme CMS": ("4.2.1", 100), "Acme Shop": ("7.3", 100), "Acme Widget": ("2.10.0", 100),
                          "Acme Beta": ("2.0-beta", 100)}
    without_stall = PageData(url=PAGE.url, headers=PAGE.headers, html=PAGE.html.replace("a" * 30, "ok"))
    assert found(engine(None).analyze(without_stall)) == detections  # `re`, where it can be used at all


def test_a_pattern_over_its_budget_is_disabled_and_the_rest_still_detected() -> None:
    budgeted = engine(0.05)
    [stall] = budgeted.database.technologies["Stall"].patterns
    started = time.perf_counter()
    assert set(found(budgeted.analyze(PAGE))) == {"Acme CMS", "Acme Shop", "Acme Widget", "Acme Beta"}
    assert time.perf_counter() - started < 5  # `re` would take minutes; the budget is 50 ms
    assert stall.disabled is not None and "50 ms budget" in stall.disabled
    started = time.process_time()
    assert "Stall" not in found(budgeted.analyze(PAGE))
    assert time.process_time() - started < 0.05  # no longer searched at all
    assert found(engine(0.05).analyze(PageData(html="<p>aay</p>"))) == {"Stall": (None, 100)}  # a fresh upload runs it


def test_repeat_counts_regex_would_take_hours_to_compile_are_disabled_at_upload(settings: Settings) -> None:
    registry = FingerprintRegistry(settings)
    started = time.process_time()
    warnings = registry.set_custom("org-a", {"Huge": {"cats": [1], "html": "a{4294967294}"}, **CUSTOM})
    assert time.process_time() - started < 1
    assert warnings == ["Huge: html pattern disabled: repeat counts too large for a custom fingerprint "
                        "(about 4294967294 steps unrolled)"]
    status = registry.custom_status("org-a")
    assert [(d["technology"], d["pattern"]) for d in status["disabled"]] == [("Huge", "a{4294967294}")]
    assert registry.custom_status("org-b") == {"technologies": [], "disabled": []}
