"""The one ordering of version strings in TechScanIQ: semantic versioning 2.0 precedence, read loosely.

Pages and advisory files write versions many ways ("v2.1", "1.9.0b1", "3.0.0-rc.1", "15.0.0-canary.206",
"20.0.0-next.0.0.0", "1.2.3.4"). Every one is read as numeric release parts plus pre-release identifiers:

- the release parts compare numerically, missing ones count as 0 ("1.2" == "1.2.0");
- a pre-release sorts before its release ("15.0.0-canary.206" < "15.0.0"), and pre-releases compare
  identifier by identifier: numbers numerically, below words, words in ASCII order, fewer identifiers first;
- a suffix glued to the number ("1.9.0b1", "3.0.0-beta1") is a pre-release too, split where letters meet digits
  (so "beta2" < "beta10");
- build metadata ("+sha.5114f85") is ignored, as semver says.

Advisory ranges (`in_range`), technology version changes (changes/versions.py) and the search index's
version comparisons (`sort_key`, compared as strings by SQLite and OpenSearch) all use this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Versions come from page text: a hostile one may be a 100,000-digit number or have a thousand parts.
_MAX_TEXT = 200
_MAX_DIGITS = 18
_MAX_PARTS = 8
_RELEASE = re.compile(r"(\d+(?:\.\d+)*)(.*)", re.DOTALL)
_IDENTIFIER = re.compile(r"\d+|[A-Za-z]+")


@dataclass(frozen=True, order=False)
class SemVer:
    release: tuple[int, ...]  # trailing zeros removed, so "1.2" and "1.2.0" are equal
    prerelease: tuple[int | str, ...] = ()

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def key(self) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
        # A release (no pre-release) sorts after every pre-release of the same numbers.
        pre = tuple((0, item, "") if isinstance(item, int) else (1, 0, item) for item in self.prerelease)
        return self.release, 0 if self.prerelease else 1, pre

    def __lt__(self, other: SemVer) -> bool:
        return self.key() < other.key()

    def __le__(self, other: SemVer) -> bool:
        return self.key() <= other.key()

    def __gt__(self, other: SemVer) -> bool:
        return self.key() > other.key()

    def __ge__(self, other: SemVer) -> bool:
        return self.key() >= other.key()


@lru_cache(maxsize=8192)
def parse_version(text: str) -> SemVer | None:
    """The version in `text`, or None when it does not start with a number (after an optional 'v')."""
    cleaned = text.strip()[:_MAX_TEXT].removeprefix("v").removeprefix("V").split("+", 1)[0]
    found = _RELEASE.fullmatch(cleaned)
    if found is None:
        return None
    numbers = [int(part[:_MAX_DIGITS]) for part in found.group(1).split(".")[:_MAX_PARTS]]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    rest = found.group(2).lstrip(".-_ ")
    prerelease: list[int | str] = []
    for token in _IDENTIFIER.findall(rest)[:_MAX_PARTS]:
        prerelease.append(int(token[:_MAX_DIGITS]) if token.isdigit() else token.lower())
    return SemVer(tuple(numbers), tuple(prerelease))


# Markers of `sort_key`, in the order they must sort: a pre-release ('!') before its release ('-'), both
# before a longer release ('.' joins release parts); inside a pre-release a number ('0') before a word ('1').
_KEY_PRERELEASE, _KEY_RELEASE, _KEY_NUMBER, _KEY_WORD = "!", "-", "0", "1"


def sort_key(text: str) -> str | None:
    """A string that sorts, as plain text, exactly as `parse_version` orders versions (None: no version):
    '6.5-alpha.3' < '6.5b1' < '6.5rc2' < '6.5' == '6.5.0' < '6.5.1' < '6.10'. For indexes that compare strings."""
    parsed = parse_version(text)
    if parsed is None:
        return None
    release = ".".join(f"{part:0{_MAX_DIGITS}d}" for part in parsed.release)
    if not parsed.prerelease:
        return release + _KEY_RELEASE
    identifiers = ".".join(f"{_KEY_NUMBER}{item:0{_MAX_DIGITS}d}" if isinstance(item, int) else _KEY_WORD + item
                           for item in parsed.prerelease)
    return release + _KEY_PRERELEASE + identifiers


def release_parts(text: str, width: int = 3) -> tuple[int, ...]:
    """The numeric release parts of `text` padded to at least `width` (empty when it is no version)."""
    parsed = parse_version(text)
    if parsed is None:
        return ()
    return parsed.release + (0,) * max(0, width - len(parsed.release))


def compare(left: str, right: str) -> int | None:
    """-1, 0 or 1 as `left` sorts before, with or after `right`; None when either is no version."""
    a, b = parse_version(left), parse_version(right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


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
