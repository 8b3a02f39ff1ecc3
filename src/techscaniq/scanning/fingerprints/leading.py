"""Where a match can start. A regex that begins with literal characters (after `\\b`) matches only where
they occur, and one that begins with `\\A` or `^` only at the start of the string.

`re` cannot skip ahead to a caseless literal: `\\bfbq\\(\\s*['"]init` costs a character-by-character pass over
an 830 KB inline script, while finding `fbq(` in the script's lowered bytes costs a memchr-speed search. The
engine tries the regex only where its leading literal is (`first_match`), in the prefilter's dialect (ASCII
letters caseless; like the prefilter, it assumes no match depends on non-ASCII case folding such as the Kelvin
sign for `k`).
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

from techscaniq.scanning.fingerprints.patterns import MIN_LITERAL, Pattern

sre_parse: Any = importlib.import_module("re._parser")
AT_START = b""  # `leading` for a regex anchored at the start of the string
# Past this many places that start with the literal but do not match, `re` searches the rest in one go.
MAX_TRIES = 64
_ZERO_WIDTH_BOUNDARIES = frozenset({"AT_BOUNDARY", "AT_NON_BOUNDARY"})
_STARTS = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING"})


@cache
def leading(regex_text: str) -> bytes | None:
    """The lowercase literal every match starts with (at least MIN_LITERAL characters), AT_START for a regex
    anchored at the start, or None when a match may start anywhere."""
    try:
        parsed = sre_parse.parse(regex_text, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return None
    chars: list[str] = []
    for position, (op, arg) in enumerate(parsed):
        name = str(op)
        if name == "AT" and not chars:
            if str(arg) in _STARTS and position == 0:
                return AT_START
            if str(arg) in _ZERO_WIDTH_BOUNDARIES:
                continue
            break
        if name != "LITERAL" or not (chr(arg).isascii() and chr(arg).isprintable()):
            break
        chars.append(chr(arg).lower())
    return "".join(chars).encode() if len(chars) >= MIN_LITERAL else None


def first_match(pattern: Pattern, text: str, lowered: bytes, start: int, end: int) -> re.Match[str] | None:
    """`pattern.search(text)`, trying the regex only where its leading literal occurs; `lowered[start:end]` is
    `text` as UTF-8 with ASCII letters lowercased."""
    lead = leading(pattern.regex_text) if pattern.budget is None and pattern.disabled is None else None
    if lead is None:
        return pattern.search(text)
    if lead == AT_START:
        return pattern.regex.match(text)
    ascii_text = text.isascii()  # O(1) in CPython
    done_bytes, char = start, 0
    at = lowered.find(lead, start, end)
    for _ in range(MAX_TRIES):
        if at < 0:
            return None
        # The bytes before a literal's first byte are whole characters.
        char += at - done_bytes if ascii_text else len(lowered[done_bytes:at].decode("utf-8", "surrogatepass"))
        done_bytes = at
        match = pattern.regex.match(text, char)
        if match is not None:
            return match
        at = lowered.find(lead, at + 1, end)
    return pattern.search(text, char)  # no match starts before `char`
