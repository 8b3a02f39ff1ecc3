"""False positives (with the ratio gauge) on the real storage, and policy validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.changes.builders import Site, Timeline, make_config, tech

from techscaniq.changes import ChangeDetector, DetectionPolicy, ImpactTable, mark_false_positive
from techscaniq.domain.common import Impact
from techscaniq.observability.metrics import REGISTRY
from techscaniq.storage.sql import SqlStorage


def ratio() -> float | None:
    return REGISTRY.get_sample_value("techscaniq_change_false_positive_ratio")


async def test_marking_false_positives_updates_the_ratio(sqlite_storage: SqlStorage) -> None:
    """SQLite only: the ratio covers every stored change, so this test needs a database of its own."""
    storage = sqlite_storage
    timeline = Timeline(storage, ChangeDetector(storage), make_config())
    site = Site()
    await timeline.step(site)
    site.technologies["A"] = tech("A")
    site.technologies["B"] = tech("B")
    site.technologies["C"] = tech("C")
    site.technologies["D"] = tech("D")
    changes = await timeline.step_changes(site)
    assert len(changes) == 4 and ratio() == 0.0

    assert await mark_false_positive(storage.changes, changes[0].id, "org-1")
    assert ratio() == 0.25
    stored = await storage.changes.get(changes[0].id)
    assert stored is not None and stored.false_positive
    assert await mark_false_positive(storage.changes, changes[0].id, "org-1")  # twice: still one
    assert ratio() == 0.25
    assert not await mark_false_positive(storage.changes, changes[1].id, "another-org")
    assert not await mark_false_positive(storage.changes, "no-such-change", None)
    assert ratio() == 0.25
    assert await mark_false_positive(storage.changes, changes[0].id, None, value=False)
    assert ratio() == 0.0


def test_policy_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="consecutive_scans"):
        DetectionPolicy(consecutive_scans=0)
    with pytest.raises(ValidationError, match="history_window"):
        DetectionPolicy(history_window=10, rebaseline_scans=12)
    with pytest.raises(ValidationError, match="min_baseline_scans"):
        DetectionPolicy(baseline_window=2, min_baseline_scans=3)
    with pytest.raises(ValidationError, match="certificate_expiry_days"):
        DetectionPolicy(certificate_expiry_days=(30, 0))
    with pytest.raises(ValidationError, match="impact_overrides"):
        DetectionPolicy(impact_overrides={"technology.added": "severe"})  # type: ignore[dict-item]


def test_impact_table_prefers_the_most_specific_key_and_the_highest_category() -> None:
    table = ImpactTable({"technology.removed:WordPress": Impact.CRITICAL})
    assert table.impact("technology", "removed", ["WordPress"], ["CMS"]) is Impact.CRITICAL
    assert table.impact("technology", "removed", ["Joomla"], ["CMS"]) is Impact.HIGH
    assert table.impact("technology", "removed", ["GA"], ["Analytics", "Security"]) is Impact.HIGH
    assert table.impact("technology", "removed", ["Lodash"], ["JavaScript libraries"]) is Impact.MEDIUM
    assert table.impact("nothing", "known") is Impact.LOW
