"""One name per product: the alias table (data/aliases.json) and case-insensitive comparison.

Two fingerprint sets may spell one product differently ("TYPO3" and "TYPO3 CMS", "Fancybox" and
"FancyBox"); merged sets and change detection compare technologies by `name_key`, so a product is one
entry, one detection, and never "TYPO3 removed, TYPO3 CMS added" when the database changes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

ALIASES_FILE = Path(__file__).resolve().parent / "data" / "aliases.json"


@cache
def aliases() -> dict[str, str]:
    """Casefolded other spelling -> the name we report."""
    raw = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    return {alias.casefold(): name for alias, name in raw.items() if not alias.startswith("_")}


def canonical_name(name: str) -> str:
    """The name we report for `name` (itself when it is no alias)."""
    return aliases().get(name.casefold(), name)


def name_key(name: str) -> str:
    """What two names of one product have in common: the canonical name, casefolded."""
    return canonical_name(name).casefold()
