"""Cheaper stand-ins for `html` regexes in the hyperscan page pass.

Many `html` patterns start with a tag and an unbounded gap before the part that identifies the technology:
`<[^>]+(?:class|id)="phabricator-`, `<link [^>]*href="[^"]+use\\.typekit\\.net`. Hyperscan has to track
every `<` (or `<link`) of the page until the gap ends, which makes a few dozen such patterns cost most of
the pass. Dropping the leading part up to a gap leaves a regex that matches wherever the original does
(every match of `P Q` contains a match of `Q` that ends at the same place) and is nearly free to run:
`(?:class|id)="phabricator-`. The engine treats a hit of the shortened regex as a hint where the original
may match and lets `re` confirm it, and falls back to the original regexes when a hint is not confirmed, so
nothing is lost; the shortening is only worth it when what is left is still rare in real pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from techscaniq.scanning.fingerprints.patterns import COMMON_SUBSTRINGS, required_literals, sre_parse

# What is left must still require a literal with this many letters or digits that are not common HTML
# (`>reddit<` keeps 6 and is found on half the pages that mention Reddit anywhere; 7 keeps such hints rare).
MIN_RARE_CHARACTERS = 7
# ...and its part before the next gap must require a literal with this many (a hint starting with common
# text and a gap, `href="[^"]+typekit`, is as slow for hyperscan as the whole regex).
MIN_LEADING_RARE_CHARACTERS = 5
# Inline flags (`(?s)` changes what `.` matches), backreferences and lookbehind depend on what comes
# before: a regex using them is left whole.
_CONTEXT_DEPENDENT = re.compile(r"\(\?[a-zA-Z]|\(\?<[=!]|\(\?P=|\\[1-9]")


@dataclass(frozen=True, slots=True)
class _Atom:
    """One top-level element of a regex: its text span and whether its repeat is unbounded."""

    start: int
    end: int
    unbounded: bool


def shortened(regex: str) -> str:
    """`regex` without a leading part that ends in an unbounded gap, when a rare part is left; else `regex`."""
    if _CONTEXT_DEPENDENT.search(regex):
        return regex
    try:
        return _shorten(regex)
    except (ValueError, IndexError, RecursionError):  # unbalanced or unusual text: keep it whole
        return regex


def _shorten(regex: str) -> str:
    atoms, bars = _split(regex)
    if bars:  # a top-level alternation: each branch on its own
        starts = [0, *(bar + 1 for bar in bars)]
        ends = [*bars, len(regex)]
        return "|".join(_shorten(regex[start:end]) for start, end in zip(starts, ends, strict=True))
    if len(atoms) == 1 and regex.endswith(")") and (regex.startswith("(?:") or not regex.startswith("(?")):
        # One plain group around it all (no quantifier): shorten inside (group numbers do not matter here).
        return "(?:" + _shorten(regex[3 if regex.startswith("(?:") else 1:-1]) + ")"
    for position, atom in enumerate(atoms):
        if atom.unbounded and not regex.startswith("[^", atom.start):
            # A gap that can cross tags (`[\s\S]*?`, `.*`): when a hint is not confirmed nearby, `re` would
            # have to try it from every `<script>` to the end of the page. Gaps within a tag or attribute
            # (`[^>]*`, `[^"]+`) keep that search cheap.
            return regex
        rest = regex[atom.end:]
        # The first cut that leaves a rare regex starting with a rare literal: cutting later would leave a
        # less selective hint, and a rest starting with a common literal (`href="[^"]+...`) is as slow as
        # the whole regex.
        if atom.unbounded and rest and _rare(rest) and _leads_with_rare_literal(regex, atoms[position + 1:]):
            return rest
    return regex


def _leads_with_rare_literal(regex: str, atoms: list[_Atom]) -> bool:
    """Whether the part before the next gap requires a literal with some rare characters."""
    end = next((atom.start for atom in atoms if atom.unbounded), len(regex))
    start = atoms[0].start if atoms else end
    return _rare(regex[start:end], MIN_LEADING_RARE_CHARACTERS)


def _rare(regex: str, minimum: int = MIN_RARE_CHARACTERS) -> bool:
    try:
        literals = required_literals(sre_parse.parse(regex, re.IGNORECASE))
    except (re.error, RecursionError, OverflowError):
        return False
    return literals is not None and bool(literals) and min(map(_rare_characters, literals)) >= minimum


def _rare_characters(literal: str) -> int:
    for common in COMMON_SUBSTRINGS:
        literal = literal.replace(common, "")
    return sum(character.isalnum() for character in literal)


def _split(regex: str) -> tuple[list[_Atom], list[int]]:
    """Top-level atoms and the positions of top-level `|`."""
    atoms: list[_Atom] = []
    bars: list[int] = []
    index, length = 0, len(regex)
    while index < length:
        start, char = index, regex[index]
        if char == "|":
            bars.append(index)
            index += 1
            continue
        if char == "\\":
            index += 2
        elif char == "[":
            index = _class_end(regex, index)
        elif char == "(":
            index = _group_end(regex, index)
        else:
            index += 1
        unbounded = False
        if index < length and regex[index] in "*+?{":
            if regex[index] in "*+":
                unbounded = True
                index += 1
            elif regex[index] == "?":
                index += 1
            else:
                close = regex.index("}", index)
                unbounded = regex[index + 1:close].endswith(",")
                index = close + 1
            if index < length and regex[index] in "?+":  # lazy or possessive
                index += 1
        atoms.append(_Atom(start, index, unbounded))
    if index != length:
        raise ValueError("escape at the end")
    return atoms, bars


def _class_end(regex: str, index: int) -> int:
    """Index after the character class opening at `index` (`]` first, or after `^`, is a literal)."""
    index += 1
    if index < len(regex) and regex[index] == "^":
        index += 1
    if index < len(regex) and regex[index] == "]":
        index += 1
    while regex[index] != "]":
        index += 2 if regex[index] == "\\" else 1
    return index + 1


def _group_end(regex: str, index: int) -> int:
    """Index after the group opening at `index`."""
    depth = 0
    while True:
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(regex, index)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
