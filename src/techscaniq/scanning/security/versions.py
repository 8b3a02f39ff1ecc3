"""Version comparison for library advisories: PEP 440 when it parses, numeric parts otherwise."""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_NUMBERS = re.compile(r"\d+")


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version | None:
    """'3.5.1', '1.9.0b1', '3.0.0-rc.1', '1.13.0-2' parse as PEP 440; 'v2.x-foo' falls back to its numbers."""
    cleaned = text.strip().lstrip("vV")
    try:
        return Version(cleaned)
    except InvalidVersion:
        numbers = _NUMBERS.findall(cleaned)[:4]
        return Version(".".join(numbers)) if numbers else None


def in_range(version: str, *, at_or_above: str | None, below: str | None) -> bool:
    """at_or_above <= version < below; a missing bound is open. Unparseable versions never match."""
    parsed = parse_version(version)
    if parsed is None:
        return False
    if at_or_above is not None:
        lower = parse_version(at_or_above)
        if lower is None or parsed < lower:
            return False
    if below is not None:
        upper = parse_version(below)
        if upper is None or parsed >= upper:
            return False
    return True
