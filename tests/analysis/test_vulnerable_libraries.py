"""Vulnerable libraries found by Retire.js's own extractors (URI, file name, file content, hashes), matched
with semver ranges and explicit library identity. The repository is a small excerpt written for these tests
(tests/analysis/data/retire-excerpt.json), installed the way `techscaniq advisories update` installs one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.analysis.conftest import ContextFactory
from tests.support.testsite import LocalSite

from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.security import LibraryVulnerability
from techscaniq.domain.technology import Detection
from techscaniq.scanning import script_bodies
from techscaniq.scanning.script_bodies import keep_script_body
from techscaniq.scanning.security import SecurityAnalyzer
from techscaniq.scanning.security.advisories import (
    AdvisoryDatabase,
    AdvisoryStore,
    load_database,
    update_advisories,
)
from techscaniq.scanning.security.retire import RetireExtractors, Sighting
from techscaniq.settings import Settings

EXCERPT = Path(__file__).parent / "data" / "retire-excerpt.json"
# Its SHA-1 is in the excerpt's dojo "hashes": nothing in the text names the library or its version.
DOJO_BUILD = "/* a dojo 1.4.1 build, minified: only its hash tells */\nvar d={};d.declare=function(){};\n"
JSZIP_BUNDLE = ("(function(){var app=1;})();\n/*!\n\nJSZip v3.1.5 - A JavaScript class for generating and reading "
                "zip files\n<http://stuartk.com/jszip>\n*/\n!function(e){module.exports=e()}(function(){});")


@pytest.fixture
def database(settings: Settings) -> AdvisoryDatabase:
    update_advisories(settings, str(EXCERPT))
    return load_database(settings.data_dir)


def extractors(database: AdvisoryDatabase) -> RetireExtractors:
    assert database.extractors is not None
    return database.extractors


def by_id(found: list[LibraryVulnerability]) -> dict[str, LibraryVulnerability]:
    return {item.advisory_id: item for item in found}


def test_library_found_only_by_its_file_content(database: AdvisoryDatabase) -> None:
    # An uninformative URL; the banner inside the bundle names JSZip 3.1.5 (no fingerprint of ours has it).
    outcome = extractors(database).scan(["https://shop.example.test/assets/vendor.8f3a.js"],
                                        [("https://shop.example.test/assets/vendor.8f3a.js", JSZIP_BUNDLE)])
    assert outcome.sightings == [Sighting("jszip", "3.1.5", "filecontent",
                                          "https://shop.example.test/assets/vendor.8f3a.js")]
    found = by_id(database.match([], outcome.sightings))
    jszip = found["CVE-2021-23413"]
    assert (jszip.library, jszip.version, jszip.fixed_version, jszip.severity) == ("jszip", "3.1.5", "3.7.0", "medium")
    assert jszip.cve == ["CVE-2021-23413"] and jszip.ghsa == ["GHSA-jg8v-48h5-wgxg"]
    assert jszip.detection == "filecontent"


def test_library_found_only_by_its_uri(database: AdvisoryDatabase) -> None:
    url = "https://cdn.example.test/npm/markdown-it@12.0.4/dist/markdown-it.min.js"
    outcome = extractors(database).scan([url], [(url, "console.log('no banner here')")])
    assert outcome.sightings == [Sighting("markdown-it", "12.0.4", "uri", url)]
    match = by_id(database.match([], outcome.sightings))["CVE-2022-21670"]
    assert (match.fixed_version, match.evidence, match.ghsa) == ("12.3.2", url, ["GHSA-6vfc-qv3f-vr6c"])
    # The fixed release is not reported.
    fixed = extractors(database).scan(["https://cdn.example.test/npm/markdown-it@12.3.2/dist/markdown-it.js"], [])
    assert database.match([], fixed.sightings) == []


def test_file_name_is_matched_whole_and_min_suffix_dropped(database: AdvisoryDatabase) -> None:
    found = extractors(database).scan(["http://127.0.0.1/js/jquery-1.12.4.min.js?v=3",
                                       "http://127.0.0.1/js/not-jquery-1.12.4.min.js.map"], [])
    assert found.sightings == [Sighting("jquery", "1.12.4", "filename", "http://127.0.0.1/js/jquery-1.12.4.min.js?v=3")]
    match = by_id(database.match([], found.sightings))
    assert match["CVE-2020-11022"].library == "jQuery"  # named as the technology it is
    assert match["CVE-2020-11022"].fixed_version == "3.5.0"
    end_of_life = next(item for item in match.values() if item.advisory_id.startswith("retire-"))
    assert end_of_life.fixed_version is None  # "below 2.999.999" is Retire.js's way of saying no fix


def test_hash_of_a_known_file(database: AdvisoryDatabase) -> None:
    outcome = extractors(database).scan([], [("https://x.example.test/d.js", DOJO_BUILD)])
    assert outcome.sightings == [Sighting("dojo", "1.4.1", "hash", "https://x.example.test/d.js")]
    assert by_id(database.match([], outcome.sightings))["CVE-2010-2275"].fixed_version == "1.4.2"
    # Line endings do not change the hash (Retire.js hashes the text with \n line ends).
    crlf = extractors(database).scan([], [("inline script #1", DOJO_BUILD.replace("\n", "\r\n"))])
    assert [s.version for s in crlf.sightings] == ["1.4.1"]


def test_content_replacement_extractor(database: AdvisoryDatabase) -> None:
    outcome = extractors(database).scan([], [("inline script #1", "dojo.version={major:1,minor:3,patch:2,flag:''}")])
    assert outcome.sightings == [Sighting("dojo", "1.3.2", "filecontent", "inline script #1")]


def test_ignored_scripts_are_not_read(database: AdvisoryDatabase) -> None:
    url = "https://stats.example.test/tag.js"
    assert extractors(database).scan([url], [(url, JSZIP_BUNDLE)]).sightings == []


@pytest.mark.parametrize(("version", "expected"), [
    ("15.0.0", set()),  # a stable release never gets the canary-only advisory
    ("15.0.4", {"CVE-2025-49826"}),  # read as 15.0.4, above 15.0.4-canary.51
    ("15.0.4-canary.50", set()),  # below the range's first canary
    ("15.0.4-canary.52", {"CVE-2025-49826"}),
    ("15.0.0-canary.205", {"CVE-2025-59472"}),
    ("15.0.0-canary.206", set()),  # numeric identifiers compare as numbers: 206 is the fix
    ("15.1.8", set()),
])
def test_prerelease_versions_compare_in_semver_order(database: AdvisoryDatabase, version: str,
                                                     expected: set[str]) -> None:
    found = database.match([Detection(name="Next.js", version=version)])
    assert {item.advisory_id for item in found} == expected


def test_angular_is_not_angularjs(database: AdvisoryDatabase) -> None:
    angular = database.match([Detection(name="Angular", version="17.3.0")])
    assert {(item.component, item.advisory_id) for item in angular} == {("@angular/core", "CVE-2026-32635")}
    angularjs = database.match([Detection(name="AngularJS", version="1.8.2")])
    assert {item.advisory_id for item in angularjs} >= {"CVE-2023-26116", "CVE-2022-25844"}
    assert {item.component for item in angularjs} == {"angularjs"}
    # The extractors tell them apart by their own banners too.
    outcome = extractors(database).scan([], [
        ("inline script #1", "/**\n * @license Angular v17.3.0\n * (c) 2010-2024 Google LLC.\n */"),
        ("inline script #2", "/**\n * @license AngularJS v1.8.2\n * (c) 2010-2020 Google LLC.\n */"),
    ])
    assert {(s.component, s.version) for s in outcome.sightings} == {("@angular/core", "17.3.0"),
                                                                      ("angularjs", "1.8.2")}


def test_a_fingerprint_and_an_extractor_seeing_the_same_library_report_it_once(database: AdvisoryDatabase) -> None:
    sightings = extractors(database).scan(["https://x.example.test/jquery-1.12.4.js"], []).sightings
    found = database.match([Detection(name="jQuery", version="1.12.4")], sightings)
    assert [item.advisory_id for item in found].count("CVE-2020-11022") == 1
    assert found[0].detection == "fingerprint"


def test_hostile_script_costs_a_bounded_time() -> None:
    # A pattern that backtracks exponentially on this input: the per-search timeout and the scan budget end it.
    hostile = RetireExtractors({"evil": {"extractors": {"filecontent": ["(?:(?:a|aa)+)+x(§§version§§)"]}}})
    outcome = hostile.scan([], [(f"inline script #{n}", "a" * 5000) for n in range(40)], budget=0.5)
    assert outcome.sightings == [] and outcome.incomplete is not None


def test_bad_patterns_are_skipped_and_named() -> None:
    built = RetireExtractors({"broken": {"extractors": {"filecontent": ["(unclosed", "ok v(§§version§§)"]}}})
    assert built.skipped and built.skipped[0].startswith("broken.filecontent[0]")
    assert [s.version for s in built.scan([], [("x", "ok v2.0.1")]).sightings] == ["2.0.1"]


async def test_security_step_reads_inline_scripts_and_script_urls(database: AdvisoryDatabase, settings: Settings,
                                                                  local_site: LocalSite,
                                                                  scan_context: ContextFactory) -> None:
    # No full-page fetch: the page itself is what the scan has (an inline AngularJS banner, a script URL).
    local_site.route("/docs/", body=(
        '<html><script type="application/ld+json">{"v": "/*! jQuery v1.0.0"}</script>'
        "<script>/**\n * @license AngularJS v1.8.2\n * (c) 2010-2020 Google LLC.\n */\nangular={};</script>"
        '<script src="vendor/markdown-it@12.0.4/markdown-it.js"></script></html>'))
    ctx = await scan_context(local_site.url("/docs/"))
    await SecurityAnalyzer(AdvisoryStore(settings.data_dir)).analyze(ctx)
    assert ctx.result.security is not None
    found = {(v.component, v.version, v.detection, v.evidence) for v in ctx.result.security.vulnerabilities}
    assert ("angularjs", "1.8.2", "filecontent", "inline script #2") in found
    assert ("markdown-it", "12.0.4", "uri", local_site.url("/docs/vendor/markdown-it@12.0.4/markdown-it.js")) in found
    assert not any(component == "jquery" for component, *_ in found)  # JSON data is not a script


def test_kept_script_bodies_are_bounded() -> None:
    shared: dict[str, Any] = {}
    for index in range(script_bodies.MAX_SCRIPTS + 5):
        body = ("x" * (script_bodies.MAX_CHARS + 10)).encode()
        keep_script_body(shared, f"https://x.example.test/{index}.js",
                         FetchResult(url=f"https://x.example.test/{index}.js", status_code=200, body=body))
    kept = script_bodies.script_bodies(shared)
    assert sum(len(text) for _, text in kept) <= script_bodies.MAX_TOTAL_CHARS
    assert all(len(text) <= script_bodies.MAX_CHARS for _, text in kept) and len(kept) <= script_bodies.MAX_SCRIPTS
    keep_script_body(shared, "https://x.example.test/missing.js",
                     FetchResult(url="https://x.example.test/missing.js", status_code=404, body=b"not found"))
    assert "https://x.example.test/missing.js" not in dict(script_bodies.script_bodies(shared))
