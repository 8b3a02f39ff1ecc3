"""The search query language: free text plus `field:value` filters, all of which must match.

    wordpress tech:WordPress version:<6.5 category:"Payment processors" grade:<B finding:hsts-not-implemented
    cve:CVE-2020-11023 tag:prod changed:<7d status:down -tag:staging "royal mail"

- Words match as prefixes of the indexed text (name, URL, tags, technologies, findings, subjects, ...);
  "quoted words" match as a phrase. A leading `-` negates a word, phrase or filter.
- `version:` belongs to the `tech:` before it (the same technology must have that version); alone it
  matches any technology's version. Versions compare part by part (6.4.3 < 6.5 < 6.10).
- `grade:<B` is worse than B (A+ best, F worst); `impact:`/`severity:` compare low < medium < high < critical.
- `changed:` compares the age of the last change (of a change: when it was detected; of an alert: when it
  triggered): `changed:<7d` within the last 7 days, `changed:>30d` longer ago. Units m, h, d, w; or a date
  (`changed:>2026-11-01` after that day).
Every error names the token and its position (QuerySyntaxError)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from techscaniq.domain.common import Impact
from techscaniq.search.documents import GRADES, SITE_STATUSES, grade_rank, version_key

Kind = Literal["sites", "changes", "alerts"]
KINDS: tuple[Kind, ...] = ("sites", "changes", "alerts")
Op = Literal["<", "<=", ">", ">=", "="]

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32

# Filters that are a plain keyword (case-insensitive equality) in each kind.
KEYWORD_FIELDS: dict[Kind, tuple[str, ...]] = {
    "sites": ("category", "finding", "cve", "tag", "status"),
    "changes": ("type", "change", "tag"),
    "alerts": ("status", "rule", "tag"),
}
RANK_FIELDS: dict[Kind, tuple[str, ...]] = {"sites": ("grade", "score"), "changes": ("impact",),
                                            "alerts": ("severity",)}
FIELDS: dict[Kind, tuple[str, ...]] = {
    kind: tuple(sorted({*KEYWORD_FIELDS[kind], *RANK_FIELDS[kind], "changed",
                        *(("tech", "version") if kind != "alerts" else ())}))
    for kind in KINDS
}
STATUS_VALUES: dict[Kind, tuple[str, ...]] = {"sites": SITE_STATUSES,
                                              "alerts": ("triggered", "acknowledged", "resolved")}
_IMPACTS = tuple(impact.value for impact in Impact)
_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_FIELD = re.compile(r"([A-Za-z_]+):(?!//)")  # not a URL (https://...): that is text
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class QuerySyntaxError(ValueError):
    """What is wrong, the offending token and where it starts (0-based character offset)."""

    def __init__(self, message: str, token: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1}: {token!r})")
        self.reason, self.token, self.position = message, token, position


@dataclass(frozen=True)
class Text:
    words: str  # one word (prefix match) or a phrase
    phrase: bool
    negated: bool = False


@dataclass(frozen=True)
class Keyword:
    field: str
    value: str  # lower-cased
    negated: bool = False


@dataclass(frozen=True)
class Rank:
    """A comparison on an ordered value: grade rank (higher is better), score, impact or severity rank."""

    field: str
    op: Op
    value: int
    negated: bool = False


@dataclass(frozen=True)
class Changed:
    after: datetime | None  # the time is after this
    before: datetime | None
    negated: bool = False


@dataclass
class Tech:
    """A technology (name None: any) with an optional version comparison, matched by one detection."""

    name: str | None
    op: Op | None = None
    version: str | None = None  # version_key of the compared version
    negated: bool = False


Term = Text | Keyword | Rank | Changed | Tech


@dataclass
class Query:
    kind: Kind
    terms: list[Term] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class _Token:
    text: str
    position: int
    negated: bool
    name: str | None  # the field, None for text
    value: str
    quoted: bool


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        if source[i].isspace():
            i += 1
            continue
        start = i
        negated = source[i] == "-" and i + 1 < n and not source[i + 1].isspace()
        if negated:
            i += 1
        name: str | None = None
        match = _FIELD.match(source, i)
        if match:
            name = match.group(1).lower()
            i = match.end()
        if i < n and source[i] == '"':
            end = source.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated quote", source[start:], start)
            value, quoted, i = source[i + 1:end], True, end + 1
            if i < n and not source[i].isspace():
                raise QuerySyntaxError("expected a space after the closing quote", source[start:i + 1], start)
        else:
            end = i
            while end < n and not source[end].isspace():
                end += 1
            value, quoted = source[i:end], False
            if '"' in value:
                raise QuerySyntaxError("a quote may only open a value", source[start:end], start)
            i = end
        tokens.append(_Token(source[start:i], start, negated, name, value, quoted))
    return tokens


_OPS: tuple[Op, ...] = ("<=", ">=", "<", ">", "=")


def _split_op(value: str) -> tuple[Op, str]:
    for op in _OPS:
        if value.startswith(op):
            return op, value[len(op):]
    return "=", value


def parse(source: str, kind: Kind = "sites", now: datetime | None = None) -> Query:
    if len(source) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_CHARS} characters", source[:20] + "…", 0)
    now = now or datetime.now(UTC)
    query = Query(kind)
    tokens = _tokens(source)
    if len(tokens) > MAX_TERMS:
        raise QuerySyntaxError(f"more than {MAX_TERMS} terms", tokens[MAX_TERMS].text, tokens[MAX_TERMS].position)
    for token in tokens:
        term = _term(token, query, now)
        if term is not None:
            query.terms.append(term)
    return query


def _term(token: _Token, query: Query, now: datetime) -> Term | None:
    kind = query.kind
    if token.name is None:
        words = token.value.strip()
        if not re.search(r"\w", words):
            raise QuerySyntaxError("nothing to search for", token.text, token.position)
        return Text(words, phrase=token.quoted, negated=token.negated)
    name = token.name
    if name not in FIELDS[kind]:
        raise QuerySyntaxError(f"unknown field {name!r} for {kind} (fields: {', '.join(FIELDS[kind])})",
                               token.text, token.position)
    op: Op = "="
    value = token.value
    if not token.quoted:
        op, value = _split_op(token.value)
    value = value.strip()
    if not value:
        raise QuerySyntaxError(f"{name}: expected a value", token.text, token.position)
    if name == "tech":
        _no_comparison(token, op, name)
        return Tech(value.lower(), negated=token.negated)
    if name == "version":
        key = version_key(value)
        if key is None:
            raise QuerySyntaxError(f"version: {value!r} is not a version (e.g. 6.5 or 3.5.1)", token.text,
                                   token.position)
        previous = query.terms[-1] if query.terms else None
        if isinstance(previous, Tech) and previous.version is None and not token.negated:
            previous.op, previous.version = op, key
            return None
        return Tech(None, op, key, negated=token.negated)
    if name == "changed":
        return _changed(token, op, value, now)
    if name == "grade":
        rank = grade_rank(value)
        if rank is None:
            raise QuerySyntaxError(f"grade: {value!r} is not a grade ({', '.join(GRADES)})", token.text,
                                   token.position)
        return Rank("grade", op, rank, token.negated)
    if name == "score":
        if not re.fullmatch(r"-?\d{1,4}", value):
            raise QuerySyntaxError("score: expected a whole number", token.text, token.position)
        return Rank("score", op, int(value), token.negated)
    if name in ("impact", "severity"):
        if value.lower() not in _IMPACTS:
            raise QuerySyntaxError(f"{name}: {value!r} is not one of {', '.join(_IMPACTS)}", token.text,
                                   token.position)
        return Rank(name, op, Impact(value.lower()).rank, token.negated)
    _no_comparison(token, op, name)
    if name == "status" and value.lower() not in STATUS_VALUES[kind]:
        raise QuerySyntaxError(f"status: {value!r} is not one of {', '.join(STATUS_VALUES[kind])}", token.text,
                               token.position)
    return Keyword(name, value.lower(), token.negated)


def _no_comparison(token: _Token, op: Op, name: str) -> None:
    if op != "=":
        raise QuerySyntaxError(f"{name}: takes no comparison ({op})", token.text, token.position)


def _changed(token: _Token, op: Op, value: str, now: datetime) -> Changed:
    duration = _DURATION.match(value.lower())
    if duration:
        moment = now - int(duration.group(1)) * _UNITS[duration.group(2)]
        # An age: younger than (<) means the time is after the moment.
        if op in ("<", "<="):
            return Changed(after=moment, before=None, negated=token.negated)
        if op in (">", ">="):
            return Changed(after=None, before=moment, negated=token.negated)
        raise QuerySyntaxError("changed: compare an age with < or > (changed:<7d)", token.text, token.position)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QuerySyntaxError(f"changed: {value!r} is neither an age (7d, 12h, 2w) nor a date (2026-11-01)",
                               token.text, token.position) from None
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    if op == ">":
        return Changed(after=end, before=None, negated=token.negated)
    if op == ">=":
        return Changed(after=start, before=None, negated=token.negated)
    if op == "<":
        return Changed(after=None, before=start, negated=token.negated)
    if op == "<=":
        return Changed(after=None, before=end, negated=token.negated)
    return Changed(after=start, before=end, negated=token.negated)


# ---- sorting -------------------------------------------------------------------------------------------

SORTS: dict[Kind, tuple[str, ...]] = {
    "sites": ("name", "url", "grade", "score", "scanned", "changed"),
    "changes": ("changed", "impact"),
    "alerts": ("changed", "severity"),
}
DEFAULT_SORT: dict[Kind, str] = {"sites": "name", "changes": "-changed", "alerts": "-changed"}


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool


def parse_sort(value: str | None, kind: Kind) -> Sort:
    """`field` ascending or `-field` descending. Grades ascend from best (A+) to worst."""
    text = (value or DEFAULT_SORT[kind]).strip()
    descending = text.startswith("-")
    name = text.lstrip("-")
    if name not in SORTS[kind]:
        raise ValueError(f"cannot sort {kind} by {name!r} (one of {', '.join(SORTS[kind])}, '-' before for "
                         "descending)")
    return Sort(name, descending)
