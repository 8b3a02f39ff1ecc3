"""Layered fingerprint sets merge pattern by pattern, one entry per product (alias table, case-insensitive)."""

from __future__ import annotations

from typing import Any

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, builtin_database_path, load_database
from techscaniq.scanning.fingerprints.database import FingerprintDatabase, database_from_json

CATEGORIES = {"cats": [59], "website": "https://example.test"}

# Our built-in entry: a file pattern with the version in its query string, and an implication.
BUILTIN: dict[str, Any] = {
    "Acme Lib": {**CATEGORIES, "scriptSrc": ["/acme-lib\\.min\\.js\\?ver=([\\d.]+)\\;version:\\1"],
                 "implies": ["Acme Core"]},
    "Acme Core": CATEGORIES,
    "Acme CMS": {"cats": [1], "website": "https://acme.test",
                 "meta": {"generator": "^Acme CMS ([\\d.]+)\\;version:\\1"}},
    "TYPO3": {"cats": [1], "website": "https://typo3.org", "meta": {"generator": "^TYPO3 ([\\d.]+) CMS\\;version:\\1"}},
    "Fancybox": {**CATEGORIES, "scriptSrc": ["jquery\\.fancybox\\.js"]},
}
# A community entry of the same name with only weaker evidence (a browser-mode global, a bare file name),
# demanding a requirement our entry does not, and excluding what ours implies.
COMMUNITY: dict[str, Any] = {
    "Acme Lib": {**CATEGORIES, "js": {"AcmeLib": ""}, "scriptSrc": ["acme-lib\\.min\\.js"],
                 "requires": ["Acme CMS"], "excludes": ["Acme Core", "Old Acme"], "description": "A library."},
    "TYPO3 CMS": {"cats": [1], "website": "https://typo3.org", "scriptSrc": ["^/typo3temp/"], "implies": ["PHP"]},
    "FancyBox": {**CATEGORIES, "scriptSrc": ["fancybox\\.umd\\.js"]},
    "Timeago": {**CATEGORIES, "scriptSrc": ["jquery\\.timeago\\.js"]},
    "timeago": {**CATEGORIES, "scriptSrc": ["timeago\\.full\\.min\\.js"]},
    "Site Kit": {**CATEGORIES, "scriptSrc": ["sitekit\\.js"], "implies": ["TYPO3 CMS", "Fancybox"]},
    "PHP": {"cats": [27], "website": "https://php.net"},
}
PAGE = '<script src="/assets/acme-lib.min.js?ver=3.6.1"></script>'


def merged() -> FingerprintDatabase:
    return database_from_json(BUILTIN, label="techscaniq").merge(database_from_json(COMMUNITY, label="community"))


def detect(database: FingerprintDatabase, html: str, **page: Any) -> dict[str, Any]:
    return {d.name: d for d in FingerprintEngine(database).analyze(PageData(url="https://site.test/", html=html,
                                                                            **page))}


def test_a_weaker_community_entry_does_not_lose_our_version_or_implication() -> None:
    community_only = detect(database_from_json(COMMUNITY), PAGE)
    assert "Acme Lib" not in community_only  # it requires Acme CMS, which this page does not show
    found = detect(merged(), PAGE)
    assert found["Acme Lib"].version == "3.6.1"
    # Their `excludes` of what our entry implies would hide our evidence: implies win over excludes.
    assert "Acme Core" in found and found["Acme Core"].implied_by == ["Acme Lib"]
    # Their browser-mode evidence is there too, and their description fills our empty one.
    assert detect(merged(), "", js={"AcmeLib": "1"})["Acme Lib"].version is None
    assert merged().technologies["Acme Lib"].description == "A library."
    assert merged().technologies["Acme Lib"].excludes == ["Old Acme"]


def test_a_pattern_both_sets_have_is_kept_once_with_a_version() -> None:
    versionless = {"Acme Lib": {**CATEGORIES, "scriptSrc": ["/acme-lib\\.min\\.js\\?ver=([\\d.]+)"]}}
    for layers in ((BUILTIN, versionless), (versionless, BUILTIN)):
        database = database_from_json(layers[0]).merge(database_from_json(layers[1]))
        sources = [p.regex_text for p in database.technologies["Acme Lib"].patterns]
        assert sources.count("/acme-lib\\.min\\.js\\?ver=([\\d.]+)") == 1
        assert detect(database, PAGE)["Acme Lib"].version == "3.6.1"


def test_aliases_and_case_variants_are_one_entry_under_our_name() -> None:
    database = merged()
    names = set(database.technologies)
    assert "TYPO3 CMS" not in names and "FancyBox" not in names
    assert [n for n in names if n.casefold() == "timeago"] == ["Timeago"]
    found = detect(database, '<meta name="generator" content="TYPO3 12.4.1 CMS"><script src="/typo3temp/a.js">'
                             '</script><script src="/js/jquery.fancybox.js"></script><script src="/fancybox.umd.js">'
                             '</script><script src="/timeago.full.min.js"></script><script src="/sitekit.js"></script>')
    assert {"TYPO3", "Fancybox", "Timeago", "Site Kit", "PHP"} <= set(found)
    assert not {"TYPO3 CMS", "FancyBox", "timeago"} & set(found)
    assert found["TYPO3"].version == "12.4.1"
    assert len(found["TYPO3"].evidence) == 2  # our generator pattern and their file pattern
    assert found["PHP"].implied_by == ["TYPO3"]  # their implication follows the entry to its canonical name
    # What implied the old spellings implies the canonical entries.
    assert set(database.technologies["Site Kit"].implies[i].name for i in range(2)) == {"TYPO3", "Fancybox"}


def test_an_organizations_custom_entry_still_replaces_the_base_entry() -> None:
    correction = database_from_json({"acme lib": {**CATEGORIES, "scriptSrc": ["/acme-lib-own\\.js"]}})
    database = database_from_json(BUILTIN).merge(correction, replace=True)
    assert "Acme Lib" not in detect(database, PAGE)
    assert "acme lib" in detect(database, '<script src="/acme-lib-own.js"></script>')


def test_the_community_spelling_of_piwik_pro_merges_into_our_entry() -> None:
    theirs = database_from_json({"Piwik PRO Core": {"cats": [10], "scriptSrc": ["\\.piwik\\.pro/"]}})
    database = load_database(builtin_database_path()).merge(theirs)
    assert "Piwik PRO Core" not in database.technologies
    found = detect(database, '<script src="https://acme.containers.piwik.pro/0a1b.js"></script>')
    assert "Piwik PRO" in found and "Piwik PRO Core" not in found
