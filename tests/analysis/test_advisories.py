"""Known-vulnerable libraries: the built-in advisories, the Retire.js loader, `advisories update`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

import pytest
from tests.support.testsite import LocalSite

from techscaniq.domain.technology import Detection
from techscaniq.scanning.security.advisories import (
    AdvisoryFormatError,
    AdvisoryStore,
    load_database,
    update_advisories,
)
from techscaniq.scanning.security.cli import register
from techscaniq.settings import Settings
from techscaniq.versions import in_range

SAMPLE = Path(__file__).parent / "data" / "jsrepository-sample.json"


def ids(detections: list[Detection], data_dir: Path | None = None) -> set[str]:
    return {match.advisory_id for match in load_database(data_dir).match(detections)}


def test_old_jquery_matches_its_published_cves() -> None:
    found = ids([Detection(name="jQuery", version="1.12.4")])
    assert {"CVE-2015-9251", "CVE-2019-11358", "CVE-2020-11022", "CVE-2020-11023"} <= found
    assert "CVE-2011-4969" not in found  # fixed in 1.6.3


def test_fixed_versions_and_versionless_detections_match_nothing() -> None:
    assert ids([Detection(name="jQuery", version="3.7.1"), Detection(name="Lodash", version="4.18.0"),
                Detection(name="Bootstrap", version="5.3.2"), Detection(name="jQuery")]) == set()


@pytest.mark.parametrize(("name", "version", "expected"), [
    ("Bootstrap", "3.3.7", "CVE-2019-8331"),
    ("Bootstrap", "4.1.0", "CVE-2018-14041"),
    ("AngularJS", "1.8.2", "CVE-2023-26116"),  # end of life: no fixed release
    ("Lodash", "4.17.15", "CVE-2020-8203"),
    ("Moment.js", "2.29.1", "CVE-2022-24785"),
    ("Handlebars", "4.7.6", "CVE-2021-23369"),
    ("Underscore.js", "1.9.1", "CVE-2021-23358"),
    ("DOMPurify", "3.1.0", "CVE-2024-45801"),
    ("jQuery UI", "1.12.1", "CVE-2021-41184"),
    ("Vue.js", "2.6.14", "CVE-2024-9506"),
])
def test_builtin_set_covers_common_libraries(name: str, version: str, expected: str) -> None:
    matches = load_database().match([Detection(name=name, version=version)])
    match = next(item for item in matches if item.advisory_id == expected)
    assert match.library == name and match.version == version and match.severity in ("low", "medium", "high",
                                                                                      "critical")


def test_bootstrap_4_3_1_is_between_the_two_vulnerable_ranges() -> None:
    assert "CVE-2019-8331" not in ids([Detection(name="Bootstrap", version="4.3.1")])
    assert "CVE-2019-8331" in ids([Detection(name="Bootstrap", version="4.2.1")])


@pytest.mark.parametrize(("version", "lower", "upper", "inside"), [
    ("1.9.0b1", None, "1.9.0", True), ("3.0.0-rc.1", "3.0.0-rc.1", "3.0.0", True), ("3.0.0", None, "3.0.0", False),
    ("v2.1", "2.0", None, True), ("not-a-version", None, "9", False), ("1.13.0-1", "1.13.0-0", "1.13.0-2", True),
    # semver, pre-releases included: a canary is below its release, not a fifth version number
    ("15.0.0-canary.206", None, "15.0.0", True), ("15.0.0", "15.0.0-canary.0", "15.0.0-canary.206", False),
    ("15.0.0-canary.9", None, "15.0.0-canary.10", True), ("3.0.0-beta2", None, "3.0.0-beta10", True),
    ("1.2.3+build.9", "1.2.3", "1.2.4", True),
])
def test_version_ranges(version: str, lower: str | None, upper: str | None, inside: bool) -> None:
    assert in_range(version, at_or_above=lower, below=upper) is inside


def test_update_from_local_file_installs_retirejs_and_links_names(settings: Settings) -> None:
    result = update_advisories(settings, str(SAMPLE))
    assert (result.libraries, result.advisories) == (3, 4)  # the retire-example entry is skipped
    assert result.path == settings.data_dir / "advisories" / "retirejs.json"
    metadata = json.loads((result.path.parent / "metadata.json").read_text())
    assert metadata["source"] == str(SAMPLE) and metadata["sha256"] == result.sha256
    # Retire.js names it "vue"; the fingerprint says "Vue.js": components.json says they are one library.
    found = ids([Detection(name="Vue.js", version="2.5.0"), Detection(name="Knockout.js", version="3.4.2")],
                settings.data_dir)
    assert {"CVE-2024-9506", "CVE-2019-14862"} <= found
    assert any(advisory.startswith("retire-") for advisory in found)  # the id-less "below 2.5.17" entry
    # One advisory id is reported once even when both sources carry it.
    jquery = load_database(settings.data_dir).match([Detection(name="jQuery", version="3.4.1")])
    assert [item.advisory_id for item in jquery].count("CVE-2020-11022") == 1


async def test_update_from_url(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/jsrepository.json", body=SAMPLE.read_bytes(), content_type="application/json")
    result = await asyncio.to_thread(update_advisories, settings, local_site.url("/jsrepository.json"))
    assert result.advisories == 4 and result.source.startswith("http://127.0.0.1")


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not JSON"), ("[1, 2]", "object of libraries"),
    ('{"x": {"vulnerabilities": 5}}', r"x\.vulnerabilities"), ('{"x": {"vulnerabilities": []}}', "no Retire"),
])
def test_bad_source_is_refused_and_installed_file_kept(settings: Settings, tmp_path: Path, content: str,
                                                      message: str) -> None:
    update_advisories(settings, str(SAMPLE))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(AdvisoryFormatError, match=message):
        update_advisories(settings, str(bad))
    assert json.loads((settings.data_dir / "advisories" / "retirejs.json").read_text())["vue"]


def test_missing_source_names_itself(settings: Settings) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        update_advisories(settings, "/nowhere.json")


def test_store_reloads_after_an_update(settings: Settings) -> None:
    # Until an update, the Retire.js snapshot shipped with TechScanIQ is in use; the installed copy replaces it.
    store = AdvisoryStore(settings.data_dir)
    nextjs = [Detection(name="Next.js", version="15.0.4")]
    assert "CVE-2025-49826" in {item.advisory_id for item in store.database().match(nextjs)}
    assert store.database().sources["retirejs_origin"] == "bundled snapshot"
    update_advisories(settings, str(SAMPLE))
    assert store.database().match(nextjs) == []  # the sample has no Next.js entries
    knockout = [Detection(name="Knockout.js", version="3.4.2")]
    assert [item.advisory_id for item in store.database().match(knockout)] == ["CVE-2019-14862"]


def test_cli_update_and_status(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="techscaniq")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["advisories", "update", "--source", str(SAMPLE)])
    args.settings = settings
    assert args.handler(args) == 0
    assert "installed 4 advisories for 3 libraries" in capsys.readouterr().out
    args = parser.parse_args(["advisories", "status"])
    args.settings = settings
    assert args.handler(args) == 0
    assert "retirejs: 4 advisories" in capsys.readouterr().out
    args = parser.parse_args(["advisories", "update", "--source", os.devnull])
    args.settings = settings
    assert args.handler(args) == 1
    assert "advisories update failed" in capsys.readouterr().err


def test_techscaniq_cli_runs_advisories_update(settings: Settings, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the real `techscaniq` entry point; DATA_DIR points it at this test's directory.
    from techscaniq.cli import main

    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    assert main(["advisories", "update", "--source", str(SAMPLE)]) == 0
    assert (settings.data_dir / "advisories" / "retirejs.json").exists()
    assert "installed 4 advisories" in capsys.readouterr().out


def test_major_only_versions_match_only_advisories_covering_the_whole_line() -> None:
    # "3" could be 3.7.1, so fixed-in-3.x advisories are not claimed; every Vue 2 release has CVE-2024-9506.
    assert ids([Detection(name="jQuery", version="3")]) == set()
    assert ids([Detection(name="Vue.js", version="2.x")]) == {"CVE-2024-9506"}
