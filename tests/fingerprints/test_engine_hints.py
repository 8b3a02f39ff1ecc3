"""Shortened `html` regexes ("hints") make the hyperscan pass cheap; they must never change what is detected.

A hint is the rare tail of a regex whose head is a tag and an unbounded gap (`<[^>]+id="phabricator-` runs as
`id="phabricator-`). It matches wherever the whole regex does, so a page without a hint hit cannot match;
a hit is only a place to look, and when the whole regex does not match there it is searched for on the whole
page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from techscaniq.domain.technology import Detection
from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, builtin_database_path, load_database
from techscaniq.scanning.fingerprints.database import database_from_json
from techscaniq.scanning.fingerprints.trimming import shortened

CASES_DIR = Path(__file__).parent / "builtin_cases"


@pytest.mark.parametrize(("regex", "hint"), [
    (r'<[^>]+(?:class|id)="phabricator-', r'(?:class|id)="phabricator-'),
    (r'<link [^>]*href="[^"]+use\.typekit\.(?:net|com)', r"use\.typekit\.(?:net|com)"),
    (r'<img[^>]+id="acmetrack-pixel"[^>]+acmetracker', r'id="acmetrack-pixel"[^>]+acmetracker'),  # first cut
    (r'(?:<a [^>]*href="[^"]*serving-sys\.com/|<iframe[^>]+ndxz-studio)', r"(?:serving-sys\.com/|ndxz-studio)"),
    (r'<div[^>]+class="[^"]*sitecore-layout', "sitecore-layout"),
])
def test_a_tag_head_before_a_rare_tail_is_dropped(regex: str, hint: str) -> None:
    assert shortened(regex) == hint


@pytest.mark.parametrize("regex", [
    "<!-- Powered by Acme",  # no gap: already cheap
    r'<div[^>]+class="wrapper"',  # what is left is common in any page
    r'<a[^>]+>reddit<',  # too few rare characters left
    r'(?s)<div.*phabricator-main',  # an inline flag applies to the whole regex
    r'<(div)[^>]+data-x="\1-phabricator"',  # a backreference into the dropped head
    r'<div[^>]+(?<=x)phabricator-main',  # lookbehind looks into the dropped head
    r'<a[^>]+(phabricator-main',  # unbalanced: left to the regex compiler to reject
    r'<script>[\s\S]*?cdn\.phabricator-main\.com',  # a gap across tags: a full search would be slow
])
def test_regexes_that_cannot_be_shortened_safely_stay_whole(regex: str) -> None:
    assert shortened(regex) == regex


def test_every_hint_matches_wherever_its_regex_matches_on_the_builtin_cases() -> None:
    database = load_database(builtin_database_path())
    regexes = {p.regex_text for t in database.technologies.values() for p in t.patterns if p.source == "html"}
    pages = [case.get("html", "") for path in sorted(CASES_DIR.glob("*.yaml"))
             for case in yaml.safe_load(path.read_text(encoding="utf-8"))]
    hinted = {regex: shortened(regex) for regex in regexes if shortened(regex) != regex}
    assert len(hinted) >= 10  # the set has such regexes, so this test checks something
    checked = 0
    for regex, hint in hinted.items():
        whole, short = re.compile(regex, re.IGNORECASE), re.compile(hint, re.IGNORECASE)
        for page in pages:
            match = whole.search(page)
            if match is not None:
                checked += 1
                tail = short.search(page, match.start())
                assert tail is not None and tail.end() <= match.end(), (regex, hint)
    assert checked >= 10


ENGINE = FingerprintEngine(database_from_json({
    "Phabricator": {"html": '<[^>]+(?:class|id)="phabricator-([a-z0-9]+)\\;version:\\1'},
}))


def detect(html: str) -> dict[str, str | None]:
    return {d.name: d.version for d in ENGINE.analyze(PageData(url="https://site.test/", html=html))}


def test_hint_far_from_the_real_match_still_detects() -> None:
    # The hint's first hit is inside a script, 50 KB before the tag that really matches.
    script = "<script>var markup = 'id=\"phabricator-dark\"';</script>"
    html = f'<html><body>{script}<p>{"filler text " * 5000}</p><div class="phabricator-v2"></div></body></html>'
    assert detect(html) == {"Phabricator": "v2"}


def test_hint_without_a_real_match_detects_nothing() -> None:
    html = "<html><body><script>var markup = 'id=\"phabricator-dark\"';</script><p>hello</p></body></html>"
    assert detect(html) == {}


def test_hinted_and_literal_only_engines_agree_on_the_builtin_cases() -> None:
    database = load_database(builtin_database_path())
    hinted, literal_only = FingerprintEngine(database), FingerprintEngine(database, exact_html=False)
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            page = PageData(url=case["url"], headers=[(str(k), str(v)) for k, v in case.get("headers", [])],
                            html=case.get("html", ""))
            assert summary(hinted.analyze(page)) == summary(literal_only.analyze(page)), case["technology"]


def summary(detections: list[Detection]) -> list[tuple[str, str | None, int, list[tuple[str, str, str]]]]:
    """What was detected and why; the order evidence was found in may differ between the two paths."""
    return [(d.name, d.version, d.confidence, sorted((e.source, e.pattern, e.matched) for e in d.evidence))
            for d in detections]
