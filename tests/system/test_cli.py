"""The `techscaniq` command as a user runs it: scan a URL, add configs from a file, migrate."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.testsite import LocalSite

from techscaniq.cli import main as cli_main
from techscaniq.storage.sql.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]


def embedded_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS",
                                                           "REDIS_URL", "ELASTICSEARCH_URL")}
    env.update(extra_env or {})
    return env


def techscaniq(*args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "techscaniq", *args], cwd=cwd, env=embedded_env(extra_env),
                          capture_output=True, text=True, timeout=120)


def on_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """Runs the CLI with its stderr on a real pseudo-terminal; its exit code and what the terminal showed."""
    terminal, child_side = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "techscaniq", *args], cwd=cwd, env=embedded_env(),
                              stdout=subprocess.DEVNULL, stderr=child_side, timeout=120)
    finally:
        os.close(child_side)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the other side is closed and everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    return done.returncode, shown.decode()


async def test_scan_prints_the_full_result_as_json(local_site: LocalSite, tmp_path: Path) -> None:
    page = (
        '<html><head><meta name="generator" content="WordPress 6.4.2"></head><body>'
        '<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.7.1"></script></body></html>'
    )
    local_site.route("/", body=page, headers=[("Server", "nginx/1.25.3")])
    # The site is served by this test's event loop, so the blocking CLI call runs in a thread.
    result = await asyncio.to_thread(techscaniq, "scan", local_site.url("/"), "--json", "--allow-private", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    scan = json.loads(result.stdout)
    assert scan["status"] == "success"
    names = {tech["name"]: tech.get("version") for tech in scan["technologies"]}
    assert names.get("WordPress") == "6.4.2"
    assert names.get("Nginx", names.get("nginx")) == "1.25.3"
    assert scan["performance"]["metrics"]["ttfb_ms"] > 0
    assert scan["security"]["grade"]
    assert scan["response"]["status_code"] == 200


async def test_scan_prints_the_grade_with_its_reasons(local_site: LocalSite, tmp_path: Path) -> None:
    local_site.route("/", body="<html><body>plain</body></html>")
    result = await asyncio.to_thread(techscaniq, "scan", local_site.url("/"), "--allow-private", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "security grade F" in result.stdout
    assert "    - CSP header not implemented (-25)" in result.stdout  # the grade's reasons, worst first


async def test_scan_of_a_refused_address_fails_with_the_reason(local_site: LocalSite, tmp_path: Path) -> None:
    result = await asyncio.to_thread(techscaniq, "scan", local_site.url("/"), cwd=tmp_path)
    assert result.returncode == 3
    assert "blocked_address" in result.stdout
    assert local_site.requests == []


async def test_scan_of_an_error_page_exits_non_zero_and_writes_nothing_where_it_runs(
        local_site: LocalSite, tmp_path: Path) -> None:
    local_site.route("/", body="<html><body>Not Found</body></html>", status=404)
    cache = tmp_path / "user-cache"
    result = await asyncio.to_thread(techscaniq, "scan", local_site.url("/"), "--allow-private", cwd=tmp_path,
                                     extra_env={"XDG_CACHE_HOME": str(cache)})
    assert result.returncode == 3, result.stderr
    assert "status 404" in result.stdout
    written = await asyncio.to_thread(lambda: [p.relative_to(tmp_path).parts[:3] for p in tmp_path.rglob("hs-*.bin")])
    # Compiled fingerprints went to the user's cache directory, not to ./data/cache/fingerprints here.
    assert written and set(written) == {("user-cache", "techscaniq", "fingerprints")}
    assert not await asyncio.to_thread((tmp_path / "data").exists)


def test_scan_with_missing_fingerprints_is_a_one_line_error(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nonexistent"
    result = techscaniq("scan", "https://example.com/", "--fingerprints", str(missing), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: --fingerprints {missing}: no such file or directory\n"
    # A directory without fingerprints in it, the same way (in-process: the same main()).
    assert cli_main(["scan", "https://example.com/", "--fingerprints", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: --fingerprints {tmp_path}: no Wappalyzer-format technologies")
    assert len(error.splitlines()) == 1


def test_config_add_refuses_a_bad_file_naming_the_field_and_accepts_a_good_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization_id: org-1\nname: x\nurl: https://example.com\n"
                   "schedule: {type: cron, expression: '0 * * * *', timezone: Mars/Olympus}\n")
    refused = techscaniq("config", "add", str(bad), cwd=tmp_path)
    assert refused.returncode == 2
    assert "schedule.timezone" in refused.stderr

    good = tmp_path / "good.yaml"
    good.write_text("- organization_id: org-1\n  name: Example\n  url: https://example.com\n"
                    "  schedule: {type: interval, expression: 1h}\n")
    added = techscaniq("config", "add", str(good), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    listed = techscaniq("config", "list", cwd=tmp_path)
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "ORGANIZATION", "NAME", "STATE", "SCHEDULE", "URL"]
    assert row.split()[1:] == ["org-1", "Example", "active", "interval", "1h", "https://example.com"]


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = techscaniq("migrate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"applied {[migration.version for migration in MIGRATIONS]}" in first.stdout
    second = techscaniq("migrate", cwd=tmp_path)
    assert "up to date" in second.stdout


def test_first_contact_help_and_one_line_errors(tmp_path: Path) -> None:
    alone = techscaniq(cwd=tmp_path)
    assert alone.returncode == 0 and "usage: techscaniq" in alone.stdout and "COMMAND" in alone.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Shop\nurl: https://example.com\nschedule: {type: interval\n")
    refused = techscaniq("config", "add", str(broken), "--organization", "org-1", cwd=tmp_path)
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: {broken}: line 4, column 1: not valid YAML")

    entries = tmp_path / "entries.yaml"
    entries.write_text("- {name: Good, url: https://example.com, schedule: {type: interval, expression: 1h}}\n"
                       "- {name: Bad, url: ftp://example.com, schedule: {type: interval, expression: 1h}}\n")
    refused = techscaniq("config", "add", str(entries), "--organization", "org-1", cwd=tmp_path)
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line == f"error: {entries}: item 1 ('Bad'): url: must be an http or https URL (not 'ftp')"

    entries.write_text("- {name: Good, url: https://example.com, schedule: {type: interval, expression: 1h}}\n")
    added = techscaniq("config", "add", str(entries), "--organization", "org-2", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0].split() == ["ID", "ORGANIZATION", "NAME", "URL"]
    assert "org-2" in added.stdout and added.stdout.rstrip().endswith("added 1 config")


def test_long_work_shows_a_progress_line_on_a_terminal_and_nothing_in_a_pipe(tmp_path: Path) -> None:
    entries = tmp_path / "entries.yaml"
    entries.write_text("".join(f"- {{name: Site {n}, url: https://example.com/{n}, schedule: {{type: interval, "
                               f"expression: 1h}}}}\n" for n in (1, 2, 3)))
    code, shown = on_terminal("config", "add", str(entries), "--organization", "org-1", cwd=tmp_path)
    assert code == 0
    assert "adding configs: 3/3 (100%) · Site 3" in shown and shown.endswith("\r\x1b[K")  # cleared at the end
    code, shown = on_terminal("changes", "rebuild-baselines", "--organization", "org-1", cwd=tmp_path)
    assert code == 0 and "rebuilding baselines: 3/3 (100%)" in shown

    piped = techscaniq("changes", "rebuild-baselines", cwd=tmp_path)  # a pipe, as in cron or a log
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout.startswith("rebuilt ")
    added = techscaniq("config", "add", str(entries), "--organization", "org-2", cwd=tmp_path)
    assert added.returncode == 0 and added.stderr == "" and added.stdout.rstrip().endswith("added 3 configs")


async def test_a_scan_on_a_terminal_says_which_step_it_is_on(local_site: LocalSite, tmp_path: Path) -> None:
    local_site.route("/", body="<html><body>plain</body></html>")
    code, shown = await asyncio.to_thread(on_terminal, "scan", local_site.url("/"), "--allow-private", cwd=tmp_path)
    assert code == 0
    target = f"scanning {local_site.url('/')}"
    for number, step in enumerate(["fetching the page", "detecting the stack", "measuring performance",
                                   "grading security"]):
        assert f"{target}: {number}/4 ({number * 25}%) · {step}" in shown, shown
    assert shown.endswith("\r\x1b[K")  # the line is gone before the result prints
