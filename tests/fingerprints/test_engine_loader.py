"""Loading Wappalyzer-format databases: broken data is skipped with a named warning, sources merge in order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, load_database
from techscaniq.scanning.fingerprints.patterns import parse_pattern, resolve_version

FIXTURES = Path(__file__).parent / "engine_fixtures"


def test_broken_database_loads_and_names_each_problem(caplog: pytest.LogCaptureFixture) -> None:
    db = load_database(FIXTURES / "broken")
    text = "\n".join(db.warnings)
    assert "'Bad Regex' field 'html'" in text and "invalid regex" in text
    assert "'Unknown Field' field 'sparkles'" in text
    assert "'Wrong Types' field 'cats'" in text and "'Wrong Types' field 'html'" in text
    assert "'Wrong Types' field 'headers'" in text
    assert "'Not An Object'" in text
    assert "category 'x'" in text and "groups.json" in text
    assert "Bad Regex" in caplog.text  # also logged
    # The rest of each entry still works.
    engine = FingerprintEngine(db)
    found = {d.name for d in engine.analyze(PageData(
        headers=[("X-Bad", "fine-header")],
        html='<meta name="generator" content="Unknown 1"><script src="/wrong.js"></script> good-one-marker',
    ))}
    assert found == {"Bad Regex", "Unknown Field", "Wrong Types", "Good One"}


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        load_database(tmp_path / "no-such-dir")


def test_later_sources_merge_over_earlier_ones() -> None:
    db = load_database([FIXTURES / "basic", FIXTURES / "custom"])
    engine = FingerprintEngine(db)
    found = {d.name: d for d in engine.analyze(PageData(
        headers=[("Server", "AcmeCustom")], html="<p>intranet-portal-v3</p>"))}
    assert found["Intranet Portal"].version == "3"
    assert "Acmeserve" in found
    # The earlier source's pattern still works: sets merge pattern by pattern (test_merging.py).
    assert "Acmeserve" in {d.name for d in engine.analyze(PageData(headers=[("Server", "Acmeserve/1")]))}
    assert "Birch CMS" in db.technologies  # the base set is still there
    assert db.categories[2].name == "Web servers"  # categories come from the base


def test_merge_method_matches_multi_source_load() -> None:
    merged = load_database(FIXTURES / "basic").merge(load_database(FIXTURES / "custom"))
    assert merged.technologies.keys() == load_database([FIXTURES / "basic", FIXTURES / "custom"]).technologies.keys()
    assert merged.version.count("+") == 1


def test_version_follows_content_and_recorded_ref(tmp_path: Path) -> None:
    copy = tmp_path / "db"
    shutil.copytree(FIXTURES / "basic", copy)
    first = load_database(copy).version
    assert first == load_database(copy).version
    assert first.startswith("db@sha256:")
    (copy / "technologies" / "p.json").write_text(json.dumps({"Pebble Lang": {"cats": [3], "website": "x"}}))
    assert load_database(copy).version != first
    (copy / "manifest.json").write_text(json.dumps({"source_name": "webappanalyzer", "ref": "1b9eee81abcdef0123"}))
    assert load_database(copy).version == "webappanalyzer@1b9eee81abcd"


def test_single_file_forms(tmp_path: Path) -> None:
    technologies = {"Solo": {"cats": [1], "website": "https://solo.test", "html": ["solo-marker"]}}
    (tmp_path / "techs.json").write_text(json.dumps(technologies))
    (tmp_path / "old.json").write_text(json.dumps({"technologies": technologies, "categories": {"1": {"name": "CMS"}}}))
    assert "Solo" in load_database(tmp_path / "techs.json").technologies
    old = load_database(tmp_path / "old.json")
    assert old.categories[1].name == "CMS" and "Solo" in old.technologies


@pytest.mark.parametrize(
    ("raw", "text", "version"),
    [
        ("lib-([\\d.]+)\\.js\\;version:\\1", "lib-1.2.3.js", "1.2.3"),
        ("lib(?:-([\\d.]+))?\\.js\\;version:\\1", "lib.js", None),
        ("(pro)?lib\\;version:\\1?Pro:Lite", "prolib", "Pro"),
        ("(pro)?lib\\;version:\\1?Pro:Lite", "lib", "Lite"),
        ("(a)(b)\\;version:\\2.\\1", "ab", "b.a"),
        ("v(\\d+)\\;confidence:25\\;version:\\1.x", "v9", "9.x"),
    ],
)
def test_version_templates(raw: str, text: str, version: str | None) -> None:
    pattern = parse_pattern("T", "html", None, raw)
    match = pattern.search(text)
    assert match is not None
    assert pattern.version_of(match) == version


def test_tags_and_literals() -> None:
    pattern = parse_pattern("T", "scriptSrc", None, "jquery(?:\\.min)?\\.js\\;confidence:30")
    assert pattern.confidence == 30
    assert pattern.literals == {"jquery.js", "jquery.min.js"}
    assert parse_pattern("T", "html", None, "^\\d+$").literals == frozenset()  # no literal: always checked
    named = parse_pattern("T", "html", None, "v(?<ver>\\d+)\\;version:\\1")  # JavaScript named group
    match = named.search("v12")
    assert match is not None and named.version_of(match) == "12"


def test_overlong_versions_are_dropped() -> None:
    pattern = parse_pattern("T", "html", None, "v=(\\w+)\\;version:\\1")
    match = pattern.search("v=" + "a" * 200)
    assert match is not None and resolve_version("\\1", match) is None
