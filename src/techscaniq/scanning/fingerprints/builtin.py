"""Where our own shipped fingerprint set lives."""

from __future__ import annotations

from pathlib import Path


def builtin_database_path() -> Path:
    """The Wappalyzer-format directory shipped with TechScanIQ (technologies/*.json, categories.json, groups.json)."""
    return Path(__file__).resolve().parent / "data"
