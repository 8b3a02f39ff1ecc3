"""Comparing the version strings fingerprints extract ("5.8.2", "3.6.0-beta.1", "1.2")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"\d+")
_LEVELS = ("major", "minor", "patch")


@dataclass(frozen=True)
class VersionDelta:
    direction: str  # upgraded | downgraded | version_changed
    level: str  # major | minor | patch | other


def compare_versions(before: str, after: str) -> VersionDelta:
    """Numeric parts decide the direction; the first differing part names the level (the fourth and later
    parts count as patch). Same numbers but different text (a suffix) is an undirected change."""
    old = _parts(before)
    new = _parts(after)
    width = max(len(old), len(new))
    old += [0] * (width - len(old))
    new += [0] * (width - len(new))
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            return VersionDelta("upgraded" if b > a else "downgraded", _LEVELS[min(index, 2)])
    return VersionDelta("version_changed", "other")


def _parts(version: str) -> list[int]:
    # Versions come from page text: a hostile one may be a 100,000-digit number; 18 digits is plenty.
    return [int(part[:18]) for part in _NUMBER.findall(version[:1000])[:8]]
