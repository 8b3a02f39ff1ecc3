"""The detection engine: compile a fingerprint database once, then analyze pages fast.

Per page: parse the HTML once; pass over the page with hyperscan (required literals of every pattern,
and the `html` regexes exactly) and over the keyed values (headers, cookies, meta...); confirm only
the candidate patterns with `re` (which also extracts versions); then resolve `implies`, `requires`,
`requiresCategory` and `excludes` the way Wappalyzer does.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from techscaniq.domain.technology import Detection, Evidence
from techscaniq.scanning.fingerprints import confidence
from techscaniq.scanning.fingerprints.database import KEYED_SOURCES, DomCheck, FingerprintDatabase, Technology
from techscaniq.scanning.fingerprints.document import Document
from techscaniq.scanning.fingerprints.foreign import JUDGED_SOURCES, in_foreign_url, page_host
from techscaniq.scanning.fingerprints.leading import first_match
from techscaniq.scanning.fingerprints.mentions import JUDGED_SOURCES as MENTION_SOURCES
from techscaniq.scanning.fingerprints.mentions import is_mention
from techscaniq.scanning.fingerprints.page import PageData
from techscaniq.scanning.fingerprints.patterns import Pattern
from techscaniq.scanning.fingerprints.prefilter import LiteralPrefilter, RegexScanner
from techscaniq.scanning.fingerprints.trimming import shortened
from techscaniq.scanning.fingerprints.versions import ANNOUNCED, best_version, plausible, rank

MAX_EVIDENCE_TEXT = 160
# Where `re` first looks for an `html` match hyperscan reported: this many characters either side of where
# hyperscan's first match ends, then a wider window, then the whole page.
CONFIRM_WINDOWS = (2048, 32768)
# Strings longer than this (inline scripts, styles, the visible text) are searched from their regex's
# leading literal (leading.py); shorter ones in one `re` search.
LONG_TEXT = 4096
# Sources read from the parsed HTML rather than from PageData fields.
_DOCUMENT_SOURCES = frozenset({"html", "scripts", "scriptSrc", "text", "css", "meta"})
# Listed sources whose strings are (decoded) parts of the HTML; the others (script URLs, which the parser
# decodes, the URL, robots.txt, ...) are all in `_Inputs.prefilter_text`, so their literals, most of all
# literals, need not be looked for in the whole page.
_IN_PAGE_SOURCES = frozenset({"html", "scripts", "css", "text"})


@dataclass(slots=True)
class _Found:
    technology: str
    evidence: Evidence


@dataclass(slots=True)
class _Hit:
    """What was found for one technology while analyzing one page."""

    confidence: int = 0
    versions: list[str] = field(default_factory=list)  # given by `implies` tags
    evidence: list[Evidence] = field(default_factory=list)
    implied_by: list[str] = field(default_factory=list)

    def add(self, evidence: Evidence) -> None:
        self.evidence.append(evidence)
        self.confidence = confidence.added(self.confidence, evidence.confidence)


class _Inputs:
    """The strings each source offers for one page, computed lazily (visible text only when needed)."""

    def __init__(self, page: PageData, document: Document | None) -> None:
        self.page = page
        self.document = document
        self.keyed: dict[str, dict[str, list[str]]] = {source: {} for source in KEYED_SOURCES}
        headers = self.keyed["headers"]
        cookies = self.keyed["cookies"]
        for name, value in page.header_pairs():
            lowered = name.lower()
            headers.setdefault(lowered, []).append(value)
            if lowered == "set-cookie":
                cookie_name, _, cookie_value = value.split(";", 1)[0].partition("=")
                cookies.setdefault(cookie_name.strip().lower(), []).append(cookie_value.strip())
            elif lowered == "cookie":
                for part in value.split(";"):
                    cookie_name, _, cookie_value = part.partition("=")
                    if cookie_name.strip():
                        cookies.setdefault(cookie_name.strip().lower(), []).append(cookie_value.strip())
        for cookie_name, cookie_value in (page.cookies or {}).items():
            cookies.setdefault(cookie_name.lower(), []).append(cookie_value)
        if document is not None:
            self.keyed["meta"] = document.meta
        self.keyed["dns"] = {kind.upper(): list(values) for kind, values in page.dns.items()}
        self.keyed["js"] = {chain: [value] for chain, value in (page.js or {}).items()}
        self._listed: dict[str, list[str]] = {}
        self.host = page_host(page.url)
        self._lowered: dict[tuple[str, str | None], tuple[list[int], bytes]] = {}

    def listed(self, source: str) -> list[str]:
        cached = self._listed.get(source)
        if cached is None:
            cached = self._listed[source] = self._compute(source)
        return cached

    def _compute(self, source: str) -> list[str]:
        page, document = self.page, self.document
        if source == "html":
            return [page.html] if page.html else []
        if source == "scriptSrc":
            return document.script_srcs if document else []
        if source == "scripts":
            return [*(document.inline_scripts if document else []), *page.script_contents]
        if source == "text":
            return [document.text] if document else []
        if source == "css":
            return [*(document.inline_css if document else []), *([page.css] if page.css else [])]
        if source == "url":
            return [page.url] if page.url else []
        if source == "robots":
            return [page.robots] if page.robots else []
        if source == "certIssuer":
            return [page.cert_issuer] if page.cert_issuer else []
        if source == "xhr":
            return list(page.xhr)
        return []

    def for_pattern(self, pattern: Pattern) -> list[str]:
        if pattern.key is None:
            return self.listed(pattern.source)
        values = self.keyed[pattern.source]
        if pattern.source == "cookies" and "*" in pattern.key:
            return [v for name, vs in values.items() if fnmatch.fnmatchcase(name, pattern.key) for v in vs]
        return values.get(pattern.key, [])

    def prefilter_text(self) -> str:
        """What listed-source patterns can look at besides the raw HTML, joined for the prefilter pass."""
        page = self.page
        parts = ["\0", page.url, page.robots or "", page.cert_issuer or "", page.css or ""]
        parts.extend(page.script_contents)
        parts.extend(page.xhr)
        if self.document is not None:  # script URLs are entity-decoded by the parser
            parts.extend(self.document.script_srcs)
        return "\n".join(parts)

    def keyed_text(self) -> str:
        """All header, cookie, meta, DNS and JS values, joined for the keyed prefilter pass."""
        return "\n".join(value for values_by_key in self.keyed.values() for values in values_by_key.values()
                         for value in values)

    def lowered(self, pattern: Pattern, texts: list[str]) -> tuple[list[int], bytes]:
        """The texts as UTF-8 with ASCII letters lowercased (the prefilter's dialect, and far cheaper than
        `str.lower` on non-ASCII text), joined with NULs, and where each one starts: for literal checks."""
        key = (pattern.source, pattern.key)
        cached = self._lowered.get(key)
        if cached is None:
            lowered = [text.encode("utf-8", "surrogatepass").lower() for text in texts]
            starts = list(accumulate((len(low) + 1 for low in lowered[:-1]), initial=0))
            cached = self._lowered[key] = (starts, b"\0".join(lowered))
        return cached


class FingerprintEngine:
    """A compiled database. Thread-safe: `analyze` keeps all per-page state local."""

    def __init__(
        self, database: FingerprintDatabase, *, exact_html: bool = True, cache_dir: Path | None = None
    ) -> None:
        """Compile `database`. `exact_html` runs `html` patterns in one hyperscan pass (faster on large
        pages); `cache_dir` keeps the compiled hyperscan databases on disk for the next start."""
        self.database = database
        self.version = database.version
        patterns = [p for t in database.technologies.values() for p in t.patterns]
        # One regex pass over the raw HTML: the `html` patterns hyperscan can run, exactly (instead of one `re`
        # search of the page each), and the words of text patterns (a text pattern is a candidate when all of
        # its words are there: `\bdx\b` selects far fewer pages than `dx`, and the visible text is extracted
        # only when a text pattern is a candidate).
        self._html_patterns = [p for p in patterns if p.source == "html" and p.regex_text] if exact_html else []
        self._bounded = [p for p in patterns if p.source == "text" and p.html_words]
        self._word_owner = [i for i, p in enumerate(self._bounded) for _ in p.html_words]
        # Hyperscan runs a shortened form of some `html` regexes (see trimming.py): a hit is a hint that `re`
        # confirms near where it was found, or else on the whole page.
        whole = [p.regex_text for p in self._html_patterns]
        hints = [shortened(regex) for regex in whole]
        self._page_scanner = RegexScanner(hints + [word for p in self._bounded for word in p.html_words], cache_dir)
        supported = set(self._page_scanner.supported)
        html_count = len(self._html_patterns)
        exact = {id(p) for i, p in enumerate(self._html_patterns) if i in supported}
        unsupported_words = {self._word_owner[i - html_count] for i in range(html_count, html_count + len(
            self._word_owner)) if i not in supported}
        exact |= {id(p) for i, p in enumerate(self._bounded) if i not in unsupported_words}
        self._bounded_usable = [i not in unsupported_words for i in range(len(self._bounded))]
        # Listed-source patterns (html, scriptSrc, ...) are found through literals in the page; keyed ones
        # (headers, cookies, meta, dns, js) through literals in the keyed values, a separate small pass.
        # Patterns with no usable literal run whenever their input (or key) exists.
        self._always: list[Pattern] = []
        self._keyed: dict[str, dict[str, list[Pattern]]] = {source: {} for source in KEYED_SOURCES}
        self._dom: list[DomCheck] = [check for t in database.technologies.values() for check in t.dom]
        listed: list[Pattern] = []
        keyed: list[Pattern] = []
        for pattern in patterns:
            if id(pattern) in exact:
                continue
            if pattern.key is not None and pattern.source == "cookies" and "*" in pattern.key:
                self._always.append(pattern)
            elif pattern.key is not None and not pattern.literals:
                self._keyed[pattern.source].setdefault(pattern.key, []).append(pattern)
            elif not pattern.literals:
                self._always.append(pattern)
            else:
                (keyed if pattern.key is not None else listed).append(pattern)
        literals, self._by_literal = _literal_table([p for p in listed if p.source in _IN_PAGE_SOURCES])
        self._prefilter = LiteralPrefilter(literals, cache_dir)
        side_literals, self._side_by_literal = _literal_table([p for p in listed if p.source not in _IN_PAGE_SOURCES])
        self._side_prefilter = LiteralPrefilter(side_literals, cache_dir)
        keyed_literals, self._keyed_by_literal = _literal_table(keyed)
        self._keyed_prefilter = LiteralPrefilter(keyed_literals, cache_dir)
        self.sources = frozenset(p.source for p in patterns)
        # Tenants' patterns run with a time budget, the GIL released: `analyze` then belongs off the event loop.
        self.tenant_patterns = [p for p in (*patterns, *(q for check in self._dom for q in check.patterns()))
                         if p.budget is not None]
        if self._dom:
            self.sources |= {"dom"}

    def browser_queries(self) -> tuple[list[str], list[str]]:
        """The JS property chains and DOM selectors a browser should evaluate for browser-mode patterns."""
        chains = sorted({p.key for t in self.database.technologies.values() for p in t.patterns
                         if p.source == "js" and p.key})
        selectors = sorted({check.selector for check in self._dom})
        return chains, selectors

    def dom_queries(self) -> dict[str, list[str]]:
        """Each DOM selector of browser-mode patterns, with the element properties its checks read."""
        queries: dict[str, set[str]] = {}
        for check in self._dom:
            queries.setdefault(check.selector, set()).update(check.properties)
        return {selector: sorted(properties) for selector, properties in queries.items()}

    def analyze(self, page: PageData) -> list[Detection]:
        html_bytes = page.html.encode("utf-8", "replace")
        # Lexbor parses the UTF-8 bytes we need anyway (given text, it would encode it again itself).
        document = Document(html_bytes) if page.html and self.sources & _DOCUMENT_SOURCES else None
        inputs = _Inputs(page, document)
        hits: dict[str, _Hit] = {}
        in_page = self._page_scanner.scan(html_bytes) if page.html else {}
        html_count = len(self._html_patterns)
        for found in self._exact_html(page.html, html_bytes, in_page, html_count, inputs.host):
            hits.setdefault(found.technology, _Hit()).add(found.evidence)
        words_found = Counter(self._word_owner[index - html_count] for index in in_page if index >= html_count)
        bounded = [self._bounded[owner] for owner, count in words_found.items()
                   if self._bounded_usable[owner] and count == len(self._bounded[owner].html_words)]
        for pattern in self._candidates(inputs, html_bytes, bounded):
            evidence = _confirm(pattern, inputs)
            if evidence is not None:
                hits.setdefault(pattern.technology, _Hit()).add(evidence)
        if page.dom:
            for check in self._dom:
                elements = page.dom.get(check.selector)
                if elements:
                    for evidence in _check_dom(check, elements):
                        hits.setdefault(check.technology, _Hit()).add(evidence)
        return self._resolve(hits)

    def _exact_html(self, html: str, data: bytes, in_page: dict[int, int], html_count: int,
                    host: str | None) -> Iterable[_Found]:
        hits = {index: end for index, end in in_page.items() if index < html_count}
        positions = _char_positions(html, data, hits.values())
        for index, end in hits.items():
            pattern = self._html_patterns[index]
            # For a hint, `re` may not find the whole regex near the hit (the hinted text also occurs in a
            # script, say); it then searches the whole page, as for any match not found near.
            match = _search_near(pattern, html, positions[end])
            if match is not None and in_foreign_url(html, match.start(), host):
                match = _next_counted(pattern, html, match, lambda m: in_foreign_url(html, m.start(), host))
            if match is not None:
                yield _Found(pattern.technology, _evidence(pattern, match))

    def _candidates(self, inputs: _Inputs, html_bytes: bytes, bounded: list[Pattern]) -> Iterable[Pattern]:
        seen: set[int] = set()
        yield from self._always
        for source, by_key in self._keyed.items():
            present = inputs.keyed[source]
            if len(present) < len(by_key):
                for key in present:
                    yield from by_key.get(key, ())
            else:
                for key, keyed in by_key.items():
                    if key in present:
                        yield from keyed
        # Literals of page sources in the page and in the other listed inputs; literals of the other sources
        # only in those inputs.
        side_text = inputs.prefilter_text().encode("utf-8", "replace")
        in_page = self._prefilter.scan(html_bytes) | self._prefilter.scan(side_text)  # no copy of a large page
        for hits, table in ((in_page, self._by_literal),
                            (self._side_prefilter.scan(side_text), self._side_by_literal)):
            for literal_id in hits:
                for pattern in table[literal_id]:
                    if id(pattern) not in seen:
                        seen.add(id(pattern))
                        yield pattern
        yield from bounded  # each of these patterns is in no other table
        for literal_id in self._keyed_prefilter.scan(inputs.keyed_text().encode("utf-8", "replace")):
            for pattern in self._keyed_by_literal[literal_id]:
                if id(pattern) not in seen:
                    seen.add(id(pattern))
                    yield pattern

    # --- resolution ------------------------------------------------------------------------------

    def _resolve(self, hits: dict[str, _Hit]) -> list[Detection]:
        technologies = self.database.technologies
        detected: dict[str, _Hit] = {}
        pending: dict[str, _Hit] = {}
        for name, hit in hits.items():
            technology = technologies.get(name)
            if technology is None:
                continue
            if technology.requires or technology.requires_category:
                pending[name] = hit
            else:
                detected[name] = hit
        changed = True
        while changed:
            changed = self._imply(detected)
            for name in list(pending):
                if self._requirements_met(technologies[name], detected):
                    detected[name] = pending.pop(name)
                    changed = True
        for name in list(detected):
            technology = technologies.get(name)
            if technology is None or name not in detected:
                continue
            for excluded in technology.excludes:
                detected.pop(excluded, None)
        return [self._detection(technologies[name], hit) for name, hit in sorted(detected.items())]

    def _imply(self, detected: dict[str, _Hit]) -> bool:
        technologies = self.database.technologies
        changed = False
        queue = list(detected)
        while queue:
            name = queue.pop()
            parent = detected[name]
            for relation in technologies[name].implies:
                implied = technologies.get(relation.name)
                if implied is None or relation.name == name:
                    continue
                hit = detected.get(relation.name)
                if hit is None:
                    hit = detected[relation.name] = _Hit()
                    queue.append(relation.name)
                    changed = True
                if name in hit.implied_by:
                    continue
                hit.implied_by.append(name)
                weight = confidence.implied(parent.confidence, relation.confidence)
                hit.confidence = confidence.added(hit.confidence, weight)
                if relation.version:
                    hit.versions.append(relation.version)
        return changed

    def _requirements_met(self, technology: Technology, detected: dict[str, _Hit]) -> bool:
        if any(required not in detected for required in technology.requires):
            return False
        if technology.requires_category:
            technologies = self.database.technologies
            present = {c for name in detected for c in technologies[name].categories}
            return all(category in present for category in technology.requires_category)
        return True

    def _detection(self, technology: Technology, hit: _Hit) -> Detection:
        # The version from the best evidence (versions.py), the longest on a tie.
        version = best_version(hit.evidence, technology.name, hit.versions)
        return Detection(
            name=technology.name,
            version=version,
            confidence=hit.confidence,
            categories=self.database.category_names(technology),
            groups=self.database.group_names(technology),
            website=technology.website,
            cpe=technology.cpe,
            implied_by=hit.implied_by,
            evidence=hit.evidence,
        )


def _literal_table(patterns: list[Pattern]) -> tuple[list[str], list[list[Pattern]]]:
    """Distinct literals (in a stable order, which keeps the cache key stable) and the patterns of each."""
    ids: dict[str, int] = {}
    table: list[list[Pattern]] = []
    for pattern in patterns:
        for literal in sorted(pattern.literals):
            index = ids.get(literal)
            if index is None:
                index = ids[literal] = len(table)
                table.append([])
            table[index].append(pattern)
    return list(ids), table


def _search_near(pattern: Pattern, html: str, position: int) -> re.Match[str] | None:
    """Python's `re` has the last word and extracts versions. It looks near `position` first, in a window it
    cannot run past (a lazy `[\\s\\S]*?` tried from every `<script>` to the end of a large page costs
    milliseconds); a match found there that ends clear of the window's edge is a real match in the page
    (these regexes have no lookaround, so nothing past its end decided it), and `re` then takes the match it
    prefers at that start. Otherwise (a longer match, or a dialect difference) it searches the whole page."""
    for window in CONFIRM_WINDOWS:
        start, stop = max(0, position - window), min(len(html), position + window)
        found = pattern.search(html, start, stop)
        if found is not None and (found.end() < stop - 1 or stop == len(html)):
            match = pattern.search(html, found.start())
            if match is not None:
                return match
        if start == 0 and stop == len(html):
            return found
    return pattern.search(html)


def _char_positions(html: str, data: bytes, ends: Iterable[int]) -> dict[int, int]:
    """Byte offsets into `data` (`html` as UTF-8) -> character offsets into `html`, decoding each stretch
    of the page once however many offsets there are."""
    if len(data) == len(html):  # ASCII: the same
        return {end: end for end in ends}
    positions: dict[int, int] = {}
    done_bytes = done_chars = 0
    for end in sorted(set(ends)):
        done_chars += len(data[done_bytes:end].decode("utf-8", "replace"))
        done_bytes = end
        positions[end] = done_chars
    return positions


def _next_counted(pattern: Pattern, text: str, match: re.Match[str],
                  rejected: Callable[[re.Match[str]], bool]) -> re.Match[str] | None:
    """The next match of `pattern` in `text` that is not `rejected` (inside another host's URL, a mention...),
    in a few tries."""
    for _ in range(8):
        match = pattern.search(text, match.start() + 1)  # type: ignore[assignment]
        if match is None or not rejected(match):
            return match
    return None


def _confirm(pattern: Pattern, inputs: _Inputs) -> Evidence | None:
    foreign = pattern.source in JUDGED_SOURCES
    mention = pattern.source in MENTION_SOURCES
    texts = inputs.for_pattern(pattern)
    if not texts:
        return None
    literals = pattern.literals if pattern.source != "html" else None
    # Each string's place in the lowered bytes, for long strings of listed sources: the regex is tried where
    # its leading literal is (leading.py) rather than over the whole string.
    spans: list[tuple[int, int] | None] = [None] * len(texts)
    if literals and not (pattern.source == "cookies" and pattern.key and "*" in pattern.key):
        # The regex runs only on the strings that contain one of its literals, in order, found in one go.
        starts, joined = inputs.lowered(pattern, texts)
        containing: set[int] = set()
        for needle in pattern.needles:
            at = joined.find(needle)
            while at >= 0:
                index = bisect_right(starts, at) - 1
                containing.add(index)
                at = joined.find(needle, starts[index + 1]) if index + 1 < len(starts) else -1
        order = sorted(containing)
        if pattern.key is None:
            ends = [*(start - 1 for start in starts[1:]), len(joined)]
            spans = [(starts[i], ends[i]) if len(texts[i]) > LONG_TEXT else None for i in order]
        else:
            spans = [None] * len(order)
        texts = [texts[index] for index in order]
    else:
        joined = b""
    best: Evidence | None = None
    for text, span in zip(texts, spans, strict=True):
        match = pattern.search(text) if span is None else first_match(pattern, text, joined, *span)

        def rejected(found: re.Match[str], text: str = text) -> bool:
            return (foreign and in_foreign_url(text, found.start(), inputs.host)) or (
                mention and is_mention(pattern, text, found))

        if match is not None and rejected(match):
            match = _next_counted(pattern, text, match, rejected)
        if match is not None:
            found = _evidence(pattern, match)
            if pattern.version is None or (found.version and rank(found, pattern.technology) == ANNOUNCED):
                return found
            # A versioned pattern looks at every string (script URL...) for its best-ranked version.
            if best is None or _version_rank(found, pattern) > _version_rank(best, pattern):
                best = found
    return best


def _version_rank(evidence: Evidence, pattern: Pattern) -> int:
    ranked = rank(evidence, pattern.technology) if evidence.version else None
    return -1 if ranked is None else ranked


def _evidence(pattern: Pattern, match: re.Match[str], source: str | None = None) -> Evidence:
    matched = match.group(0)
    if len(matched) > MAX_EVIDENCE_TEXT:
        matched = matched[:MAX_EVIDENCE_TEXT] + "…"
    return Evidence(
        source=source or pattern.source,
        key=pattern.key,
        pattern=pattern.regex_text,
        matched=matched,
        version=plausible(pattern.version_of(match)),
        confidence=pattern.confidence,
    )


def _check_dom(check: DomCheck, elements: Iterable[object]) -> list[Evidence]:
    from techscaniq.scanning.fingerprints.page import DomElement

    found: list[Evidence] = []
    for element in elements:
        if not isinstance(element, DomElement):
            continue
        if check.exists:
            found.append(Evidence(source="dom", key=check.selector, pattern="exists", matched=check.selector))
        if check.text is not None and (match := check.text.search(element.text)):
            found.append(_evidence(check.text, match))
        for kind, values in (("attributes", element.attributes), ("properties", element.properties)):
            for name, pattern in getattr(check, kind).items():
                value = values.get(name)
                if value is not None and (match := pattern.search(value)):
                    evidence = _evidence(pattern, match)
                    found.append(evidence.model_copy(update={"key": f"{check.selector} [{name}]"}))
        if found:
            return found
    return found
