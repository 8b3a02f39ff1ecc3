"""How a technology's version changed between two scans ("5.8.2" -> "6.0.1": upgraded, major)."""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.versions import parse_version

_LEVELS = ("major", "minor", "patch")


@dataclass(frozen=True)
class VersionDelta:
    direction: str  # upgraded | downgraded | version_changed
    level: str  # major | minor | patch | other


def compare_versions(before: str, after: str) -> VersionDelta:
    """The direction is the shared semver ordering (techscaniq.versions); the first differing release part
    names the level (the fourth and later parts count as patch), a pre-release step ("1.0.0-rc.1" ->
    "1.0.0") is level "other". Equal versions written differently, or text that is no version, are an
    undirected change."""
    old, new = parse_version(before), parse_version(after)
    if old is None or new is None or old.key() == new.key():
        return VersionDelta("version_changed", "other")
    direction = "upgraded" if new > old else "downgraded"
    width = max(len(old.release), len(new.release))
    old_parts = old.release + (0,) * (width - len(old.release))
    new_parts = new.release + (0,) * (width - len(new.release))
    for index, (a, b) in enumerate(zip(old_parts, new_parts, strict=True)):
        if a != b:
            return VersionDelta(direction, _LEVELS[min(index, 2)])
    return VersionDelta(direction, "other")
