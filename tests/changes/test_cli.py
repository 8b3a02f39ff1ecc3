"""`techscaniq changes list|false-positive|rebuild-baselines` against the embedded SQLite database."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from tests.changes.builders import Site, Timeline, make_config, tech

from techscaniq.changes import ChangeDetector
from techscaniq.changes.cli import false_positive_command, list_command, rebuild_baselines_command, register
from techscaniq.domain.change import Change
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


async def _record_changes(settings: Settings) -> list[Change]:
    storage = SqlStorage(settings)
    await storage.start()
    try:
        timeline = Timeline(storage, ChangeDetector(storage), make_config())
        site = Site()
        await timeline.step(site)
        site.technologies["Stripe"] = tech("Stripe", categories=("Payment processors",))
        return await timeline.step_changes(site)
    finally:
        await storage.close()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_list_and_mark_false_positive(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    [change] = asyncio.run(_record_changes(settings))

    assert list_command(_parse(["changes", "list", "--organization", "org-1"]), settings) == 0
    listed = capsys.readouterr().out
    header, row = listed.splitlines()
    assert header.split() == ["DETECTED", "(UTC)", "ID", "IMPACT", "TYPE", "CHANGE"]
    assert change.id in row and row.endswith("technology  Stripe added (Payment processors)")
    assert "false positive" not in listed

    assert false_positive_command(_parse(["changes", "false-positive", change.id, "--organization", "org-2"]),
                                  settings) == 1
    assert "no change" in capsys.readouterr().out
    assert false_positive_command(_parse(["changes", "false-positive", change.id]), settings) == 0
    assert list_command(_parse(["changes", "list", "--json"]), settings) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert Change.model_validate_json(line).false_positive and '"summary": "Stripe added' in line
    assert false_positive_command(_parse(["changes", "false-positive", change.id, "--undo"]), settings) == 0
    assert "unmarked" in capsys.readouterr().out
    assert list_command(_parse(["changes", "list", "--min-impact", "medium"]), settings) == 0
    assert change.id not in capsys.readouterr().out  # a low-impact change is filtered out
    assert list_command(_parse(["changes", "list", "--type", "technology"]), settings) == 0
    assert "false positive" not in capsys.readouterr().out


def test_rebuild_baselines_from_the_stored_scans(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async def record() -> Timeline:
        storage = SqlStorage(settings)
        await storage.start()
        try:
            timeline = Timeline(storage, ChangeDetector(storage), make_config(id="cfg-rebuilt"))
            await storage.configs.add(timeline.config, None)
            site = Site()
            for _ in range(3):
                await timeline.step(site)
            assert await storage.baselines.drop() == 1
            return timeline
        finally:
            await storage.close()

    async def stored_window() -> list[str]:
        storage = SqlStorage(settings)
        await storage.start()
        try:
            found = (await storage.baselines.get("cfg-rebuilt", before=timeline.scans[-1].started_at)).baseline
            return [scan.id for scan in found.scans] if found else []
        finally:
            await storage.close()

    timeline = asyncio.run(record())
    assert rebuild_baselines_command(_parse(["changes", "rebuild-baselines"]), settings) == 0
    assert capsys.readouterr().out.strip() == "rebuilt 1 baseline"
    assert asyncio.run(stored_window()) == [scan.id for scan in timeline.scans[::-1]]
    assert rebuild_baselines_command(_parse(["changes", "rebuild-baselines", "--config", "nope"]), settings) == 1
    assert "no config 'nope'" in capsys.readouterr().out
