"""One Wappalyzer pattern string: `regex\\;version:\\1\\;confidence:50`, parsed, validated and made fast.

The regex is parsed once with Python's own regex parser: that validates it and yields the literal
strings any match must contain, which feed the multi-pattern prefilter. Compiling to a matcher is
deferred to the first time the pattern is a candidate, because compiling 13,000 regexes up front
would cost most of the start-up time for patterns most pages never need.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import regex as bounded_re  # the `regex` module: timeouts, and no GIL held while matching

# Python's own regex parser (`re._parser` since 3.11; `sre_parse` is its deprecated alias).
sre_parse: Any = importlib.import_module("re._parser")
log = logging.getLogger(__name__)

MIN_LITERAL = 3
MAX_VERSION_LENGTH = 40
# Visible text is entity-decoded, so literals of `text` patterns avoid characters HTML may encode; and it
# joins the text of neighbouring elements with a space ("Royal<br>Mail" reads "Royal Mail"), so they stop
# at spaces too. The prefilter scans the raw document (plus decoded meta contents and script URLs).
_TEXT_BREAKERS = frozenset('&<>"\' ')
# A pattern with no regex syntax but escaped punctuation ("cdn\\.example\\.com/w\\.js").
_PLAIN = re.compile(r"(?:[^\\\[\](){}.*+?^$|]|\\[./\-_:=#@%&~'\" ])*")
_JS_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why."""


@dataclass(slots=True, eq=False)
class Pattern:
    """A compiled pattern of one technology for one source (`key`: header, cookie, meta name...)."""

    technology: str
    source: str
    key: str | None
    regex_text: str
    version: str | None = None
    confidence: int = 100
    # Lowercase strings of which at least one occurs in any text this pattern matches; empty when the
    # pattern has no usable literal (it then runs on every page that has its source).
    literals: frozenset[str] = frozenset()
    needles: tuple[bytes, ...] = ()  # the literals as bytes, for checks on UTF-8 text
    # `text` patterns only: hyperscan regexes over the raw HTML that all match on any page whose visible text
    # matches (its words, with the word boundaries the pattern demands: `\bdx\b`), much more selective than
    # one bare literal for the short words text patterns look for; empty when there are none.
    html_words: tuple[str, ...] = ()
    # A tenant's pattern (see `budgeted`): the seconds one search may take, and why it no longer runs.
    budget: float | None = None
    disabled: str | None = None
    disabled_at: datetime | None = None  # when a search went over the budget (None: never, or not compilable)
    _parsed: Any = field(default=None, repr=False)
    _compiled: re.Pattern[str] | None = field(default=None, repr=False)
    _bounded: Any = field(default=None, repr=False)

    @property
    def regex(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.regex_text, re.IGNORECASE)
            self._parsed = None
        return self._compiled

    def budgeted(self, seconds: float) -> None:
        """Run this pattern with the `regex` module, each search bounded by `seconds`: a tenant's pattern may
        backtrack without end (`(a|a)+b`), and `re` can neither be stopped nor let go of the GIL meanwhile.
        `regex` releases the GIL while matching a str and raises TimeoutError past its budget; it also matches
        some patterns `re` takes exponential time for (`x(a+)+(?=y)`) in linear time. A pattern `regex`
        cannot compile is disabled."""
        self.budget = seconds
        if not self.regex_text:
            return
        try:
            # `regex` unrolls counted repeats when compiling: `a{4294967294}` would take it hours.
            size = _unrolled_size(self._parsed if self._parsed is not None else sre_parse.parse(self.regex_text))
            if size > MAX_UNROLLED_SIZE:
                self.disabled = f"repeat counts too large for a custom fingerprint (about {size} steps unrolled)"
                return
            self._bounded = bounded_re.compile(self.regex_text, bounded_re.IGNORECASE | bounded_re.VERSION0)
        except (re.error, bounded_re.error, RecursionError, OverflowError) as exc:
            self.disabled = f"regex not supported for custom fingerprints: {exc}"

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        if self.disabled is not None:
            return None
        if not self.regex_text:
            return _EMPTY.search(text)
        stop = len(text) if endpos is None else endpos
        if self._bounded is None or self.budget is None:
            return self.regex.search(text, pos, stop)
        try:
            found: re.Match[str] | None = self._bounded.search(text, pos, stop, timeout=self.budget)
        except TimeoutError:
            milliseconds = self.budget * 1000
            self.disabled = f"a search took over its {milliseconds:.0f} ms budget (the regex backtracks too much)"
            self.disabled_at = datetime.now(UTC)
            # No page content in the log: only which pattern.
            log.warning("custom fingerprint %r (%s%s) disabled: a search took over %.0f ms",
                        self.technology, self.source, f" {self.key}" if self.key else "", milliseconds)
            return None
        return found

    def version_of(self, match: re.Match[str]) -> str | None:
        return resolve_version(self.version, match) if self.version else None

    @property
    def identity(self) -> str:
        """What names this pattern in an organization's set across replicas and restarts (sha256 hex)."""
        return pattern_identity(self.technology, self.source, self.key, self.regex_text)


def pattern_identity(technology: str, source: str, key: str | None, regex_text: str) -> str:
    return hashlib.sha256(json.dumps([technology, source, key, regex_text]).encode()).hexdigest()


_EMPTY = re.compile("")
# How large a custom pattern may be with its counted repeats written out (`(?:ab){3}` is 6): `regex` compiles
# 20,000 in a few milliseconds, and Wappalyzer patterns count to a few dozen at most.
MAX_UNROLLED_SIZE = 20_000
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


def _unrolled_size(parsed: Any) -> int:
    """The size of a parsed regex with each counted repeat written out (an unbounded one counts its minimum)."""
    size = 0
    for op, arg in parsed:
        if str(op) in _REPEATS:
            low, high, inner = arg
            size += max(1, low, high if high != sre_parse.MAXREPEAT else low) * _unrolled_size(inner)
        else:
            size += 1 + sum(_nested_size(part) for part in (arg if isinstance(arg, tuple | list) else ()))
    return size


def _nested_size(part: Any) -> int:
    """The size of what an operation holds: sub-patterns, branches (lists of them), or nothing."""
    if isinstance(part, sre_parse.SubPattern):
        return _unrolled_size(part)
    if isinstance(part, list):
        return sum(_nested_size(item) for item in part)
    return 0


def split_tags(raw: str) -> tuple[str, dict[str, str]]:
    """`regex\\;version:\\1\\;confidence:50` -> ("regex", {"version": "\\1", "confidence": "50"})."""
    regex, *tags = raw.split("\\;")
    parsed: dict[str, str] = {}
    for tag in tags:
        name, sep, value = tag.partition(":")
        if sep:
            parsed[name.strip()] = value
    return regex, parsed


def parse_pattern(technology: str, source: str, key: str | None, raw: Any) -> Pattern:
    """Parse one pattern string; raises PatternError naming the problem."""
    if not isinstance(raw, str):
        raise PatternError(f"pattern must be a string, got {type(raw).__name__}")
    regex_text, tags = split_tags(raw)
    regex_text = _JS_NAMED_GROUP.sub("(?P<", regex_text)
    confidence = 100
    if "confidence" in tags:
        try:
            confidence = max(0, min(100, int(tags["confidence"])))
        except ValueError as exc:
            raise PatternError(f"confidence must be an integer, got {tags['confidence']!r}") from exc
    parsed = None
    literals: frozenset[str] = frozenset()
    breakers = _TEXT_BREAKERS if source == "text" else frozenset()
    plain = re.sub(r"\\(.)", r"\1", regex_text).lower() if _PLAIN.fullmatch(regex_text) else None
    if plain is not None and not breakers.intersection(plain):
        # Most patterns are plain text with escaped punctuation: no need for the regex parser.
        if len(plain) >= _min_literal(source) and plain.isascii():
            literals = frozenset({plain})
    elif regex_text:
        try:
            parsed = sre_parse.parse(regex_text, re.IGNORECASE)
        except (re.error, RecursionError, OverflowError) as exc:
            raise PatternError(f"invalid regex {regex_text!r}: {exc}") from exc
        literals = required_literals(parsed, breakers, _min_literal(source)) or frozenset()
    html_words = _html_words(parsed, breakers, _min_literal(source)) if source == "text" else ()
    return Pattern(
        technology=technology,
        source=source,
        key=key,
        regex_text=regex_text,
        version=tags.get("version") or None,
        confidence=confidence,
        literals=literals,
        needles=tuple(sorted(literal.encode() for literal in literals)),
        html_words=html_words,
        _parsed=parsed,
    )


def resolve_version(template: str, match: re.Match[str]) -> str | None:
    """Fill a version template from a match: `\\1`, and the ternary `\\1?yes:no` (yes when group 1 matched)."""
    groups = (match.group(0), *match.groups())
    resolved = template
    for index, value in enumerate(groups):
        ternary = re.search(rf"\\{index}\?([^:]*):(.*)$", resolved)
        if ternary:
            resolved = resolved.replace(ternary.group(0), ternary.group(1) if value else ternary.group(2))
        resolved = resolved.replace(f"\\{index}", value or "")
    resolved = re.sub(r"\\\d", "", resolved).strip()
    if not resolved or len(resolved) > MAX_VERSION_LENGTH:
        return None
    return resolved


_ZERO_WIDTH = frozenset({"ASSERT", "ASSERT_NOT"})
_LEFT_EDGES = frozenset({"AT_BOUNDARY", "AT_BEGINNING", "AT_BEGINNING_STRING"})
_RIGHT_EDGES = frozenset({"AT_BOUNDARY", "AT_END", "AT_END_STRING"})


# What may stand for one space of a text pattern in the raw HTML: whitespace, a tag or comment (text nodes are
# joined with a space), or a character reference.
_PHRASE_GAP = r"(?:\s|<[^>]*>|&#?\w{1,8};)+"


def _html_words(parsed: Any, breakers: frozenset[str], min_length: int) -> tuple[str, ...]:
    """For a text pattern: hyperscan regexes over the raw HTML that must all match on a page whose visible
    text matches, one per literal run of the pattern's top-level sequence (each part of every match), with
    `\b` on a side where the pattern demands a word boundary, the text's edge or a non-word character. Runs
    separated by one space make one regex, a phrase whose words may be separated by whitespace, tags or
    character references in the HTML (`\\broyal(?:\\s|<[^>]*>|...)+mail\\b`): far more selective than the
    words `royal` and `mail` anywhere in the page.

    Sound because visible text is made of the HTML's text nodes: a character next to a run in the text is
    the same character in the HTML, or sits where the HTML has a tag (`<`, `>`), an entity (`&`, `;`) or
    stripped whitespace, none of them word characters; and runs stop at spaces, which may stand for a tag.
    (Not covered, like letters written as entities: a legacy entity with no `;` right before a word,
    `&ampUPS`; a whole script or style element, or a comment containing `>`, between two words of a
    phrase.)"""
    if parsed is None:
        return ()
    items = [(str(op), arg) for op, arg in parsed]
    runs: list[tuple[int, int]] = []  # [start, end) of each run of literal characters
    index = 0
    while index < len(items):
        end = index
        while end < len(items) and items[end][0] == "LITERAL" and (char := chr(items[end][1])).isascii() \
                and char.isprintable() and char not in breakers:
            end += 1
        if end > index:
            runs.append((index, end))
        index = end + 1
    phrases: list[list[tuple[int, int]]] = []
    for run in runs:
        previous = phrases[-1][-1] if phrases else None
        if previous is not None and run[0] == previous[1] + 1 and items[previous[1]] == ("LITERAL", ord(" ")):
            phrases[-1].append(run)
        else:
            phrases.append([run])
    words: list[str] = []
    for phrase in phrases:
        texts = ["".join(chr(arg) for _, arg in items[start:end]).lower() for start, end in phrase]
        if sum(map(len, texts)) < min_length:
            continue
        first, last = phrase[0][0], phrase[-1][1]
        before = next((item for item in reversed(items[:first]) if item[0] not in _ZERO_WIDTH), None)
        after = next((item for item in items[last:] if item[0] not in _ZERO_WIDTH), None)
        left = _is_word(texts[0][0]) and _edge(before, _LEFT_EDGES)
        right = _is_word(texts[-1][-1]) and _edge(after, _RIGHT_EDGES)
        words.append(("\\b" if left else "") + _PHRASE_GAP.join(map(re.escape, texts)) + ("\\b" if right else ""))
    return tuple(words)


def _edge(item: tuple[str, Any] | None, edges: frozenset[str]) -> bool:
    """Whether the regex demands a non-word character (or the text's edge) there: `\\b`, `\\A`, or a literal
    character that is not an ASCII word character (a space, `.`, `é`...)."""
    if item is None:
        return False
    if item[0] == "AT":
        return str(item[1]) in edges
    return item[0] == "LITERAL" and not _is_word(chr(item[1]))


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


# --- literal extraction from the parsed regex --------------------------------------------------

def _min_literal(source: str) -> int:
    # Text patterns are often short words (`\bDX\b`); even two letters spare a search of the page text.
    return 2 if source == "text" else MIN_LITERAL


def required_literals(
    parsed: Any, breakers: frozenset[str] = frozenset(), min_length: int = MIN_LITERAL
) -> frozenset[str] | None:
    """A set of lowercase literals of which every match contains at least one, or None if unknown."""
    try:
        return _sequence(parsed, breakers, min_length)
    except (TypeError, ValueError, IndexError, RecursionError):  # unusual parse trees: no prefilter
        return None


# Substrings so common in HTML and URLs that a literal made only of them selects almost every page.
COMMON_SUBSTRINGS = (
    "text/javascript", "stylesheet", "javascript", "powered by", "content", "script", "https", "class=", "href=",
    "src=", "http", "link", "span", "meta", "name=", "type=", "input", "value=", "style", "title", "iframe", "data-",
    "wrapper", "container", "version", ".min", ".css", ".js", "div", "www", "com", "img", "id=", "rel=", "/a", "//",
)
MAX_ALTERNATIVES = 64


def specificity(literal: str) -> int:
    """Characters left after removing very common HTML/URL substrings: a rough rarity score."""
    for common in COMMON_SUBSTRINGS:
        literal = literal.replace(common, "")
    return len(literal.strip(" =:/.-_"))


def _score(literals: frozenset[str]) -> tuple[int, int, int]:
    return min(map(specificity, literals)), min(map(len, literals)), -len(literals)


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """Prefer the set whose weakest literal is most specific (fewest false candidates)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if _score(a) >= _score(b) else b


def _pure_literal(items: Any, breakers: frozenset[str]) -> str | None:
    """The text of a sub-pattern that is nothing but literal characters, else None."""
    chars: list[str] = []
    for op, arg in items:
        if str(op) != "LITERAL":
            return None
        char = chr(arg)
        if not (char.isascii() and char.isprintable()) or char in breakers:
            return None
        chars.append(char)
    return "".join(chars)


def _alternatives(op: str, arg: Any, breakers: frozenset[str]) -> list[str] | None:
    """The fixed strings an element can match (a literal-only branch, a small class, an optional literal)."""
    if op == "BRANCH":
        texts = [_pure_literal(branch, breakers) for branch in arg[1]]
        return None if any(t is None for t in texts) else [t for t in texts if t is not None]
    if op == "IN":
        chars = []
        for kind, value in arg:
            if str(kind) != "LITERAL" or not chr(value).isascii() or chr(value) in breakers:
                return None
            chars.append(chr(value))
        return chars if 0 < len(chars) <= 4 else None
    if op == "SUBPATTERN":
        inner = arg[-1]
        if len(inner) == 1:
            return _alternatives(str(inner[0][0]), inner[0][1], breakers)
        text = _pure_literal(inner, breakers)
        return [text] if text is not None else None
    if op in ("MAX_REPEAT", "MIN_REPEAT") and arg[0] == 0 and arg[1] == 1 and len(arg[2]) >= 1:
        inner = arg[2]
        options: list[str] | None = None
        if len(inner) == 1:
            options = _alternatives(str(inner[0][0]), inner[0][1], breakers)
        if options is None:
            text = _pure_literal(inner, breakers)
            options = [text] if text is not None else None
        return None if options is None else ["", *options]
    return None


def _sequence(items: Any, breakers: frozenset[str], min_length: int = MIN_LITERAL) -> frozenset[str] | None:
    """Walk a concatenation keeping the set of literal runs that end here (cross products of small
    alternatives), and the best set seen inside any nested element."""
    best: frozenset[str] | None = None
    runs: set[str] = {""}

    def flush() -> None:
        nonlocal best, runs
        if runs and min(map(len, runs)) >= min_length:
            best = _better(best, frozenset(run.lower() for run in runs))
        runs = {""}

    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            char = chr(arg)
            if char.isascii() and char.isprintable() and char not in breakers:
                runs = {run + char for run in runs}
                continue
            flush()
            continue
        if name == "AT":
            continue
        options = _alternatives(name, arg, breakers)
        if options is not None and len(runs) * len(options) <= MAX_ALTERNATIVES:
            runs = {run + option for run in runs for option in options}
            continue
        flush()
        if name == "SUBPATTERN":
            best = _better(best, _sequence(arg[-1], breakers, min_length))
        elif name == "BRANCH":
            alternatives = [_sequence(branch, breakers, min_length) for branch in arg[1]]
            if alternatives and all(alt is not None for alt in alternatives):
                union = frozenset().union(*[alt for alt in alternatives if alt is not None])
                if len(union) <= MAX_ALTERNATIVES:
                    best = _better(best, union)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, inner = arg
            if low >= 1:
                best = _better(best, _sequence(inner, breakers, min_length))
        elif name == "ATOMIC_GROUP":
            best = _better(best, _sequence(arg, breakers, min_length))
    flush()
    return best
