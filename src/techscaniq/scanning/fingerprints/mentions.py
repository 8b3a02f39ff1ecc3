"""A product's word found as part of something else is a mention of the word, not evidence of the product.

Two shapes of it produce confident wrong answers with the community database:
- A name inside a longer word of a script URL or the page URL: `/.*onsen.*min\\.js` (Onsen UI) matches
  `cookieconsent.min.js`. When a pattern leaves open what comes before its name (`.*onsen`, or the name at
  the start of an unanchored regex), a match counts only where the name starts a word.
- A bare name in an inline script (`piwik`, `ImportFromWordPressInsideMenu`: a pattern that is one identifier
  and nothing else) inside a quoted file name, URL or dotted key: `u+'piwik.php'` is Matomo's tracker under
  its old name, not Piwik PRO; a Wix page's `"specs.editor.ImportFromWordPressInsideMenu"` is a Wix feature,
  not WordPress.com. The identifier counts where it is code or a key of its own (`window.__SAPPER__`,
  `"drupal_internal__nid":`).
"""

from __future__ import annotations

import re
from functools import cache

from techscaniq.scanning.fingerprints.patterns import Pattern

JUDGED_SOURCES = frozenset({"scriptSrc", "url", "scripts"})
_BARE_WORD = re.compile(r"[A-Za-z_$][\w$]*")
# Regex syntax before a literal that says nothing about the character before it.
_OPEN_BEFORE = frozenset("(|*+?.")
# A name as part of a quoted path, URL or dotted key: the run of these characters around it.
_TOKEN_CHAR = re.compile(r"[\w$.\-/:\\]")
_QUOTES = frozenset("'\"`")


def is_mention(pattern: Pattern, text: str, match: re.Match[str]) -> bool:
    """Whether `match` of `pattern` in `text` only names the pattern's word as part of something else."""
    if pattern.source == "scripts":
        return bool(_BARE_WORD.fullmatch(pattern.regex_text)) and _in_quoted_path(text, match)
    if pattern.source in ("scriptSrc", "url"):
        return _inside_word(pattern, text, match)
    return False


@cache
def _open_words(regex_text: str, literals: frozenset[str]) -> frozenset[str]:
    """The pattern's literals that start with a letter where the regex leaves the character before open."""
    lowered = regex_text.lower()
    found = set()
    for literal in literals:
        at = lowered.find(literal)
        if at < 0 or not literal[0].isalpha():
            continue
        before = lowered[at - 1] if at > 0 else ""
        escaped = at > 1 and lowered[at - 2] == "\\"
        if at == 0 or (before in _OPEN_BEFORE and not escaped):
            found.add(literal)
    return frozenset(found)


def _inside_word(pattern: Pattern, text: str, match: re.Match[str]) -> bool:
    """True when every literal of the pattern in the match is an open word that starts mid-word."""
    open_words = _open_words(pattern.regex_text, pattern.literals)
    if not open_words:
        return False
    start, end = match.span()
    lowered = text[start:end].lower()
    seen = False
    for literal in pattern.literals:
        at = lowered.find(literal)
        while at >= 0:
            seen = True
            before = text[start + at - 1] if start + at > 0 else ""
            if literal not in open_words or not (before.isascii() and before.isalpha()):
                return False
            at = lowered.find(literal, at + 1)
    return seen


def _in_quoted_path(text: str, match: re.Match[str]) -> bool:
    start, end = match.span()
    while start > 0 and _TOKEN_CHAR.match(text, start - 1):
        start -= 1
    while end < len(text) and _TOKEN_CHAR.match(text, end):
        end += 1
    token = text[start:end]
    quoted = (start > 0 and text[start - 1] in _QUOTES) or (end < len(text) and text[end] in _QUOTES)
    return quoted and token != match.group(0) and any(mark in token for mark in "./")
