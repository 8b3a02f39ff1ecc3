"""The fingerprint set TechScanIQ ships (written by us, Apache-2.0) proves every technology it claims.

Each technology in `scanning/fingerprints/data` has at least one test response under `builtin_cases/`: a minimal
response the technology really produces. Every response must be detected as that technology (with its version
when the site exposes one), and must not make the engine report anything the response does not reveal: only the
technology, the ones listed in `also`, and whatever those imply.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from techscaniq.domain.technology import Detection
from techscaniq.scanning.fingerprints import (
    DomElement,
    FingerprintEngine,
    PageData,
    builtin_database_path,
    load_database,
)

CASES_DIR = Path(__file__).parent / "builtin_cases"
MIN_TECHNOLOGIES = 300


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    technology: str
    version: str | None
    confidence: int | None
    also: tuple[str, ...]
    page: PageData = field(compare=False)

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}:{self.technology}"


def _load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for index, raw in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
            cases.append(_case(path.name, index, raw))
    return cases


def _case(file: str, index: int, raw: dict[str, Any]) -> Case:
    page = PageData(
        url=raw["url"],
        headers=[(str(name), str(value)) for name, value in raw.get("headers", [])],
        html=raw.get("html", ""),
        robots=raw.get("robots"),
        dns=raw.get("dns") or {},
        cert_issuer=raw.get("cert_issuer"),
        # Browser mode: what the rendered page showed (property chain -> value, selector -> elements, requests).
        js={str(chain): str(value) for chain, value in raw["js"].items()} if "js" in raw else None,
        dom={str(selector): [DomElement(text=str(element.get("text", "")),
                                        attributes={str(k): str(v) for k, v in element.get("attributes", {}).items()},
                                        properties={str(k): str(v) for k, v in element.get("properties", {}).items()})
                             for element in elements]
             for selector, elements in raw["dom"].items()} if "dom" in raw else None,
        xhr=[str(url) for url in raw.get("xhr", [])],
    )
    version = None if raw.get("version") is None else str(raw["version"])
    return Case(file, index, raw["technology"], version, raw.get("confidence"), tuple(raw.get("also", [])), page)


CASES = _load_cases()


@cache
def _engine() -> FingerprintEngine:
    return FingerprintEngine(load_database([builtin_database_path()]))


@cache
def _raw_technologies() -> dict[str, dict[str, Any]]:
    """The shipped JSON read directly, so the test checks the files themselves, not the loader's view of them."""
    technologies: dict[str, dict[str, Any]] = {}
    for path in sorted((builtin_database_path() / "technologies").glob("*.json")):
        technologies.update(json.loads(path.read_text(encoding="utf-8")))
    return technologies


def _implied_closure(names: list[str]) -> set[str]:
    technologies = _raw_technologies()
    seen = set(names)
    stack = list(names)
    while stack:
        for implied in technologies[stack.pop()].get("implies", []):
            name = implied.split("\\;")[0]
            if name not in seen:
                seen.add(name)
                stack.append(name)
    return seen


def _by_name(detections: list[Detection]) -> dict[str, Detection]:
    return {detection.name: detection for detection in detections}


def test_the_set_has_at_least_300_technologies_each_proven_by_a_case() -> None:
    technologies = _raw_technologies()
    assert len(technologies) >= MIN_TECHNOLOGIES
    proven = {case.technology for case in CASES}
    unproven = sorted(set(technologies) - proven)
    assert unproven == [], f"technologies without a test response in {CASES_DIR.name}/: {unproven}"
    unknown = sorted(proven - set(technologies))
    assert unknown == [], f"cases name technologies the set does not have: {unknown}"


def test_the_engine_loads_every_shipped_technology_and_category() -> None:
    database = load_database([builtin_database_path()])
    assert database.warnings == []  # every pattern and field of ours is understood, none skipped
    categories = json.loads((builtin_database_path() / "categories.json").read_text(encoding="utf-8"))
    assert len(database.technologies) == len(_raw_technologies())
    assert len(database.categories) == len(categories)


def test_every_relation_and_category_points_at_something_that_exists() -> None:
    technologies = _raw_technologies()
    categories = json.loads((builtin_database_path() / "categories.json").read_text(encoding="utf-8"))
    groups = json.loads((builtin_database_path() / "groups.json").read_text(encoding="utf-8"))
    problems = []
    for name, technology in technologies.items():
        problems += [f"{name}: category {cat}" for cat in technology["cats"] if str(cat) not in categories]
        for relation in ("implies", "excludes", "requires"):
            targets = [other.split("\\;")[0] for other in technology.get(relation, [])]
            problems += [f"{name}: {relation} {other}" for other in targets if other not in technologies]
    for cat_id, category in categories.items():
        problems += [f"category {cat_id}: group {group}" for group in category["groups"] if str(group) not in groups]
    assert problems == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_is_detected_with_its_version_and_nothing_unexplained(case: Case) -> None:
    detected = _by_name(_engine().analyze(case.page))
    assert case.technology in detected, f"{case.technology} not detected; got {sorted(detected)}"
    if case.version is not None:
        assert detected[case.technology].version == case.version
    if case.confidence is not None:  # a bare file name is only a hint; a distinctive marker is certain
        assert detected[case.technology].confidence == case.confidence
    assert detected[case.technology].evidence or detected[case.technology].implied_by
    allowed = _implied_closure([case.technology, *case.also])
    unexplained = sorted(set(detected) - allowed)
    assert unexplained == [], f"false positives for a {case.technology} response: {unexplained}"
    # `also` must stay honest: every listed co-detection really happens.
    assert sorted(set(case.also) - set(detected)) == []


@pytest.mark.parametrize(
    ("technology", "html"),
    [
        ("Magento Page Builder", '<div data-content-type="row" data-appearance="contained" data-element="main"></div>'),
        ("Drupal Commerce", '<script src="/modules/contrib/commerce/modules/cart/js/commerce_cart.js"></script>'),
    ],
)
def test_an_add_on_marker_without_its_platform_is_not_reported(technology: str, html: str) -> None:
    # These markers are generic on their own; `requires` keeps them from being reported off their platform.
    assert _raw_technologies()[technology].get("requires")
    page = PageData(url="https://www.example.test/", html=f"<html><body>{html}</body></html>")
    assert technology not in _by_name(_engine().analyze(page))


def _plain_pages() -> Iterator[PageData]:
    html = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Example Domain</title>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/css/site.css">\n<script src="/js/app.js"></script>\n'
        '<style>body { margin: 0; font-family: sans-serif; }</style>\n</head>\n<body>\n<div id="app">\n'
        "<h1>Example Domain</h1>\n<p>This domain is for use in illustrative examples.</p>\n"
        '<a href="/about">About</a> <img src="/img/logo.png" alt="logo">\n'
        '<form method="post" action="/contact"><input type="email" name="email"><button>Send</button></form>\n'
        "</div>\n<script>document.getElementById('app').className = 'ready';</script>\n</body>\n</html>\n"
    )
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "max-age=600"),
        ("Date", "Sat, 28 Nov 2026 12:00:00 GMT"),
        ("ETag", '"3147526947"'),
        ("Set-Cookie", "session=abc123; Path=/; HttpOnly"),
    ]
    # An ordinary robots.txt: the rules every site writes are no product's fingerprint.
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart\nAllow: /\n\nSitemap: https://www.example.test/sitemap.xml\n"
    yield PageData(url="https://www.example.test/", headers=headers, html=html, robots=robots)
    yield PageData(url="https://www.example.test/about", headers=[("Content-Type", "text/html")], html="")


def test_a_plain_page_without_markers_detects_nothing() -> None:
    for page in _plain_pages():
        assert _engine().analyze(page) == []


def _pattern_literals() -> list[str]:
    """Rough literal text of every markup pattern (regex syntax blanked out), used to build hostile pages."""
    literals = set()
    for technology in _raw_technologies().values():
        for source in ("html", "scriptSrc", "scripts", "css"):
            for pattern in technology.get(source, []):
                regex = pattern.split("\\;")[0]
                text = re.sub(r"\[[^\]]*\]|\(\?[:!=<]|\{\d+(?:,\d*)?\}|[()?*+|^$]", " ", regex)
                literals.add(re.sub(r"\\(.)", r"\1", text).replace(">", " ").strip()[:60])
    return sorted(literals)


@pytest.mark.timeout(120)
def test_hostile_pages_full_of_our_markers_are_analyzed_in_bounded_time() -> None:
    # Each pattern's literal text repeated in tags that never close, and once more inside one endless tag: a pattern
    # that rescans the rest of the page from every candidate start (quadratic or worse) takes seconds here, not ms.
    _engine().analyze(PageData(url="https://www.example.test/"))  # compile once, outside the timing
    slowest = (0.0, "")
    for literal in _pattern_literals():
        unclosed = f"<{literal} " * (40_000 // (len(literal) + 2))
        endless = "<div " + f"{literal.replace('<', ' ')} " * (40_000 // (len(literal) + 1))
        for html in (unclosed, endless):
            started = time.perf_counter()
            _engine().analyze(PageData(url="https://www.example.test/", html=html))
            slowest = max(slowest, (time.perf_counter() - started, literal))
    assert slowest[0] < 0.5, f"a 40 kB page of {slowest[1]!r} took {slowest[0]:.2f} s"
