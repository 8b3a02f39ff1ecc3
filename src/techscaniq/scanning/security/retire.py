"""Retire.js's own extractors: which library, at which version, a script URL or a script body is.

A Retire.js repository names, per library ("component"), regular expressions over script URIs (`uri`), over
the file name (`filename`, matched whole), over the content (`filecontent`; `filecontentreplace` rewrites a
match into a version, e.g. dojo's `{major:1,minor:8,patch:3}`) and SHA-1 hashes of known files. `§§version§§`
stands for a version; the patterns are JavaScript regular expressions, which the `regex` module reads
(named groups, `\\/`, lazy repeats), compiled once per repository.

Nearly every pattern misses nearly every script, so each input first goes through one hyperscan pass over
the literals the patterns require (the fingerprint engine's literal extraction and prefilter); a pattern
runs only where one of its literals occurs (patterns without a known literal always run).

Script bodies are page content: each search is bounded (the first MAX_CONTENT_CHARS characters, a timeout
per search and a budget per scan), and the caller runs `scan` in a worker thread (the searches release the
GIL), so a pattern that backtracks badly on a hostile script costs a bounded slice of one thread.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import regex

from techscaniq.scanning.fingerprints.patterns import MIN_LITERAL, required_literals, sre_parse
from techscaniq.scanning.fingerprints.prefilter import LiteralPrefilter
from techscaniq.versions import parse_version

# What retire.js puts in for §§version§§ (its replaceVersion).
VERSION_PATTERN = r"[0-9][0-9.a-z_\-]+"
MAX_CONTENT_CHARS = 1_000_000  # library banners and version strings sit near the top of a file
MAX_URL_CHARS = 4096
MAX_MATCHES_PER_PATTERN = 8
SEARCH_TIMEOUT = 0.25  # seconds per pattern and input
SCAN_BUDGET = 3.0  # seconds for one page's scripts, all patterns together
_MIN_SUFFIX = regex.compile(r"[.-]min$")
_REPLACEMENT = regex.compile(r"^/(.*[^\\])/([^/]+)/$", regex.DOTALL)
_GROUP_REFERENCE = regex.compile(r"\$(\d)")
IGNORED_COMPONENT = "dont check"  # retire's list of script URLs it never looks into


@dataclass(frozen=True)
class Sighting:
    """One library version Retire.js's extractors found. `detection`: uri | filename | filecontent | hash."""

    component: str
    version: str
    detection: str
    evidence: str  # the script URL, or "inline script #n"


@dataclass(frozen=True)
class _Extractor:
    pattern: regex.Pattern[str]
    literals: tuple[int, ...] | None  # ids of the literals one of which every match contains; None: unknown
    template: str = ""  # filecontentreplace: a `regex` template, \g<1> where JavaScript wrote $1

    def may_match(self, hits: set[int]) -> bool:
        return self.literals is None or any(literal in hits for literal in self.literals)


@dataclass
class _Component:
    name: str
    uri: list[_Extractor] = field(default_factory=list)
    filename: list[_Extractor] = field(default_factory=list)
    filecontent: list[_Extractor] = field(default_factory=list)
    replace: list[_Extractor] = field(default_factory=list)


class BudgetSpent(Exception):
    """The scan's time for extractor searches is used up; what was found so far stands."""


class _Clock:
    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.timed_out = 0  # searches cut by their own timeout

    def timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BudgetSpent
        return min(SEARCH_TIMEOUT, left)


@dataclass
class ScanOutcome:
    sightings: list[Sighting] = field(default_factory=list)
    incomplete: str | None = None  # why some searches did not finish, for the scan's analysis errors


class RetireExtractors:
    """The compiled extractors of one Retire.js repository (the parsed jsrepository JSON)."""

    def __init__(self, repository: dict[str, Any]) -> None:
        self.components: list[_Component] = []
        self.hashes: dict[str, tuple[str, str]] = {}  # sha1 -> (component, version)
        self.ignored: list[_Extractor] = []
        self._literal_ids: dict[str, int] = {}
        self.skipped: list[str] = []  # "component.kind[i]: why": patterns this engine cannot compile
        for name, entry in repository.items():
            if name == "retire-example" or not isinstance(entry, dict):
                continue
            extractors = entry.get("extractors")
            if not isinstance(extractors, dict):
                continue
            if name == IGNORED_COMPONENT:
                self.ignored = self._compile(name, "uri", extractors.get("uri"))
                continue
            component = _Component(
                name=name, uri=self._compile(name, "uri", extractors.get("uri")),
                filename=self._compile(name, "filename", extractors.get("filename"), whole=True),
                filecontent=self._compile(name, "filecontent", extractors.get("filecontent")),
                replace=self._replacements(name, extractors.get("filecontentreplace")),
            )
            self.components.append(component)
            hashes = extractors.get("hashes")
            if isinstance(hashes, dict):
                for digest, version in hashes.items():
                    if isinstance(digest, str) and isinstance(version, str):
                        self.hashes[digest.lower()] = (name, version)
        self._prefilter = LiteralPrefilter(list(self._literal_ids))
        # Per kind, every extractor in repository order, and which of them each literal makes a candidate.
        self._ordered: dict[str, list[tuple[str, _Extractor]]] = {}
        self._by_literal: dict[str, dict[int, list[int]]] = {}
        self._always: dict[str, list[int]] = {}
        for kind in ("uri", "filename", "filecontent", "replace"):
            ordered = [(component.name, extractor) for component in self.components
                       for extractor in getattr(component, kind)]
            self._ordered[kind] = ordered
            by_literal: dict[int, list[int]] = {}
            for index, (_, extractor) in enumerate(ordered):
                for literal in extractor.literals or ():
                    by_literal.setdefault(literal, []).append(index)
            self._by_literal[kind] = by_literal
            self._always[kind] = [index for index, (_, extractor) in enumerate(ordered) if extractor.literals is None]

    def _candidates(self, kind: str, hits: set[int]) -> list[tuple[str, _Extractor]]:
        """The extractors of `kind` that may match an input whose literal hits are `hits`, in repository order
        (so a Python loop touches only them, not every pattern)."""
        by_literal = self._by_literal[kind]
        chosen = set(self._always[kind])
        for literal in hits:
            chosen.update(by_literal.get(literal, ()))
        ordered = self._ordered[kind]
        return [ordered[index] for index in sorted(chosen)]

    def _literals(self, text: str) -> tuple[int, ...] | None:
        """Ids of the (lowercase) literals every match of `text` contains one of; None when not known."""
        try:
            parsed = sre_parse.parse(text, re.IGNORECASE)  # Python's own parser, as the fingerprint engine uses
        except (re.error, RecursionError, OverflowError, ValueError):
            return None  # JavaScript syntax Python's parser does not read: the pattern always runs
        found = required_literals(parsed, frozenset(), MIN_LITERAL)
        if not found:
            return None
        return tuple(self._literal_ids.setdefault(literal, len(self._literal_ids)) for literal in sorted(found))

    def _compile(self, name: str, kind: str, patterns: Any, *, whole: bool = False) -> list[_Extractor]:
        compiled: list[_Extractor] = []
        for index, source in enumerate(patterns if isinstance(patterns, list) else []):
            if not isinstance(source, str):
                continue
            text = source.replace("§§version§§", VERSION_PATTERN)
            try:
                # retire.js matches file names as '^' + pattern + '$'
                pattern = regex.compile(f"^(?:{text})$" if whole else text)
            except (regex.error, ValueError, OverflowError) as exc:
                self.skipped.append(f"{name}.{kind}[{index}]: {exc}")
                continue
            compiled.append(_Extractor(pattern, self._literals(text)))
        return compiled

    def _replacements(self, name: str, patterns: Any) -> list[_Extractor]:
        found: list[_Extractor] = []
        for index, source in enumerate(patterns if isinstance(patterns, list) else []):
            parts = _REPLACEMENT.match(source) if isinstance(source, str) else None
            if parts is None:
                self.skipped.append(f"{name}.filecontentreplace[{index}]: not /pattern/replacement/")
                continue
            text = parts.group(1).replace("§§version§§", VERSION_PATTERN)
            try:
                pattern = regex.compile(text)
            except (regex.error, ValueError, OverflowError) as exc:
                self.skipped.append(f"{name}.filecontentreplace[{index}]: {exc}")
                continue
            found.append(_Extractor(pattern, self._literals(text), _GROUP_REFERENCE.sub(r"\\g<\1>", parts.group(2))))
        return found

    # ---- scanning -----------------------------------------------------------------------------------

    def scan(self, urls: Iterable[str], contents: Iterable[tuple[str, str]], *,
             budget: float = SCAN_BUDGET) -> ScanOutcome:
        """Sightings in script URLs (uri + filename) and in script bodies ((evidence, text) pairs:
        filecontent, then filecontentreplace, then the hash, as retire.js orders them). One per
        (component, version); a spent budget ends the scan with what was found."""
        clock = _Clock(budget)
        outcome = ScanOutcome()
        seen: set[tuple[str, str]] = set()

        def keep(found: Iterable[Sighting]) -> None:
            for sighting in found:
                key = (sighting.component, sighting.version)
                if key not in seen:
                    seen.add(key)
                    outcome.sightings.append(sighting)

        try:
            for url in urls:
                keep(self.scan_url(url, clock))
            for evidence, text in contents:
                keep(self.scan_content(text, evidence, clock))
        except BudgetSpent:
            outcome.incomplete = f"script scan stopped after its {budget:g} s budget"
        if clock.timed_out and outcome.incomplete is None:
            outcome.incomplete = f"{clock.timed_out} extractor search(es) timed out"
        return outcome

    def _hits(self, text: str) -> set[int]:
        return self._prefilter.scan(text.encode("utf-8", "surrogatepass"))

    def is_ignored(self, url: str, clock: _Clock) -> bool:
        hits = self._hits(url[:MAX_URL_CHARS])
        return any(next(self._matches(extractor, url[:MAX_URL_CHARS], clock, hits), None) is not None
                   for extractor in self.ignored)

    def scan_url(self, url: str, clock: _Clock | None = None) -> list[Sighting]:
        clock = clock or _Clock(SCAN_BUDGET)
        url = url[:MAX_URL_CHARS]
        if self.is_ignored(url, clock):
            return []
        path = urlsplit(url).path
        file_name = unquote(path.replace("\\", "/").rsplit("/", 1)[-1])
        url_hits = self._hits(url)
        found: list[Sighting] = []
        for name, extractor in self._candidates("uri", url_hits):
            found += self._sightings(name, self._versions(extractor, url, clock, url_hits), "uri", url)
        if file_name:
            name_hits = self._hits(file_name)
            for name, extractor in self._candidates("filename", name_hits):
                found += self._sightings(name, self._versions(extractor, file_name, clock, name_hits), "filename", url)
        return found

    def scan_content(self, content: str, evidence: str, clock: _Clock | None = None) -> list[Sighting]:
        clock = clock or _Clock(SCAN_BUDGET)
        if evidence.startswith(("http://", "https://")) and self.is_ignored(evidence, clock):
            return []
        normalized = content.replace("\r\n", "\n").replace("\r", "\n")
        text = normalized[:MAX_CONTENT_CHARS]
        hits = self._hits(text)
        found: list[Sighting] = []
        for name, extractor in self._candidates("filecontent", hits):
            found += self._sightings(name, self._versions(extractor, text, clock, hits), "filecontent", evidence)
        if not found:
            for name, extractor in self._candidates("replace", hits):
                versions = [match.expand(extractor.template) for match in self._matches(extractor, text, clock, hits)]
                found += self._sightings(name, versions, "filecontent", evidence)
        if not found:
            # Hashes are of whole files, so the whole (unbounded) body: hashing is linear and cheap.
            digest = hashlib.sha1(normalized.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
            known = self.hashes.get(digest)
            if known is not None:
                found += self._sightings(known[0], [known[1]], "hash", evidence)
        return found

    @staticmethod
    def _sightings(component: str, versions: Iterable[str], detection: str, evidence: str) -> list[Sighting]:
        found: list[Sighting] = []
        for raw in versions:
            version = _MIN_SUFFIX.sub("", raw)
            if parse_version(version) is not None:
                found.append(Sighting(component, version, detection, evidence))
        return found

    def _versions(self, extractor: _Extractor, text: str, clock: _Clock, hits: set[int]) -> list[str]:
        """What the pattern's first group captured, per match (retire.js reads match[1])."""
        if extractor.pattern.groups < 1:
            return []
        return [match.group(1) for match in self._matches(extractor, text, clock, hits) if match.group(1)]

    @staticmethod
    def _matches(extractor: _Extractor, text: str, clock: _Clock, hits: set[int]) -> Iterator[regex.Match[str]]:
        if not extractor.may_match(hits):
            return
        # Successive searches rather than finditer: most candidates still miss, and a search that misses
        # costs a fraction of setting up an iterator.
        position = 0
        try:
            for _ in range(MAX_MATCHES_PER_PATTERN):
                match = extractor.pattern.search(text, position, concurrent=True, timeout=clock.timeout())
                if match is None:
                    return
                yield match
                position = match.end() if match.end() > match.start() else match.end() + 1
                if position > len(text):
                    return
        except TimeoutError:
            clock.timed_out += 1
