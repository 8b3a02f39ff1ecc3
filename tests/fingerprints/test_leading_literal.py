"""A regex that starts with a literal is tried only where that literal is: a large inline script, style or
visible text costs no whole-string `re` pass per candidate pattern (`re` cannot skip ahead to a caseless
literal), and what is found is what a whole search finds."""

from __future__ import annotations

import re
from typing import Any

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData
from techscaniq.scanning.fingerprints.database import database_from_json
from techscaniq.scanning.fingerprints.leading import AT_START, leading


class SpyRegex:
    """A compiled regex that records every search and match it is asked for (what `re` is made to scan)."""

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex
        self.searched: list[tuple[int, int]] = []  # (from, to) of each search
        self.matched: list[int] = []  # where each anchored match was tried

    def search(self, text: str, pos: int = 0, endpos: int = 2**62) -> re.Match[str] | None:
        self.searched.append((pos, min(endpos, len(text))))
        return self.regex.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        self.matched.append(pos)
        return self.regex.match(text, pos)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.regex, name)


FILLER = "var a" + "x" * 60 + " = function(){ return window.location.href; };\n"


def spied(database: dict[str, Any]) -> tuple[FingerprintEngine, dict[str, SpyRegex]]:
    engine = FingerprintEngine(database_from_json(database))
    spies = {}
    for technology in engine.database.technologies.values():
        for pattern in technology.patterns:
            spy = SpyRegex(pattern.regex)
            pattern._compiled = spy  # type: ignore[assignment]  # the test watches what re is asked to do
            spies[technology.name] = spy
    return engine, spies


def test_a_large_inline_script_is_not_searched_whole() -> None:
    engine, spies = spied({
        "Pixel": {"cats": [10], "scripts": "\\bfbq\\(\\s*['\"]init['\"],\\s*['\"](\\d+)\\;version:\\1"},
        "Styled": {"cats": [66], "css": "\\.acme-grid\\s*\\{"},
    })
    script = FILLER * 12_000 + "fbq('track');\n" + FILLER * 100 + "fbq('init', '12345');\n" + FILLER * 2_000
    style = ".a{color:red}\n" * 40_000 + ".acme-grid { display: grid }"
    page = PageData(url="https://shop.test/", html=f"<html><head><script>{script}</script><style>{style}</style>"
                                                   "</head><body>Shop</body></html>")
    found = {d.name: d for d in engine.analyze(page)}
    assert set(found) == {"Pixel", "Styled"}
    assert found["Pixel"].evidence[0].matched == "fbq('init', '12345"  # what a whole search finds
    assert found["Pixel"].version == "12345"
    assert spies["Pixel"].searched == [] and len(spies["Pixel"].matched) == 2  # only at the two `fbq(`
    assert spies["Styled"].searched == [] and spies["Styled"].matched == [style.index(".acme-grid")]


def test_the_same_first_match_as_a_whole_search() -> None:
    engine, spies = spied({"Lib": {"cats": [59], "scripts": "acme\\.init\\((\\d)\\)\\;version:\\1"}})
    script = "ACME.init(x) ACME.INIT(7) acme.init(8)" + FILLER * 200
    [detection] = engine.analyze(PageData(url="https://t.test/", html=f"<script>{script}</script>"))
    assert detection.version == "7"  # caseless, the leftmost match
    assert spies["Lib"].matched == [0, 13]


def test_which_regexes_have_a_leading_literal() -> None:
    assert leading("\\bfbq\\(") == b"fbq("
    assert leading("GTAG\\(\\s*") == b"gtag("
    assert leading("\\APC\\b") == AT_START
    assert leading("(?:^|//)connect\\.facebook\\.net") is None  # a match may start anywhere
    assert leading("ga\\(") == b"ga("
    assert leading("ab\\d") is None  # too short to be worth looking for
