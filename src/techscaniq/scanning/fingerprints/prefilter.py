"""Multi-pattern passes over a page with hyperscan, so only promising patterns reach Python's `re`.

- `LiteralPrefilter`: one pass finds which of thousands of required literals (case-insensitive) occur.
- `RegexScanner`: one pass runs hundreds of `html` regexes exactly and says which match and where.

Compiled hyperscan databases can be cached on disk (`cache_dir`), keyed by a hash of exactly what was
compiled; hyperscan's own serialization is used (validated on load), never pickle. Without hyperscan
(an unsupported CPU or platform) a slower pure-Python path gives the same answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

hyperscan: Any
try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan ships wheels for the platforms we support
    hyperscan = None

log = logging.getLogger(__name__)
CACHE_FILES_KEPT = 8

# Constructs hyperscan does not support (lookaround, backreferences); those patterns stay with `re`.
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")


class _Scanner:
    def __init__(self) -> None:
        self._local = threading.local()  # hyperscan scratch space must not be shared between threads
        self._database: Any = None

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch


class LiteralPrefilter(_Scanner):
    def __init__(self, literals: Sequence[str], cache_dir: Path | None = None) -> None:
        super().__init__()
        self.literals = list(literals)
        if hyperscan is not None and self.literals:
            flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
            indexes = list(range(len(self.literals)))
            self._database, _ = _cached(cache_dir, "literals", self.literals, flags, lambda: (
                _compile(self.literals, indexes, flags, literal=True), indexes))

    def scan(self, data: bytes) -> set[int]:
        """Ids (indexes into `literals`) of the literals that occur in `data` (UTF-8), ignoring ASCII case."""
        if not self.literals:
            return set()
        if self._database is None:
            lowered = data.decode("utf-8", "replace").lower()
            return {index for index, literal in enumerate(self.literals) if literal in lowered}
        hits: set[int] = set()
        add = hits.add

        def on_match(literal_id: int, _start: int, _end: int, _flags: int, _context: Any) -> None:
            add(literal_id)

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return hits


class RegexScanner(_Scanner):
    """Exact multi-regex matching for the patterns hyperscan can run: one pass over a large text tells
    which patterns match and where their first match ends, so `re` only confirms near there (and
    extracts versions) instead of searching the whole page once per candidate. (Tracking where matches
    start would make the pass several times slower.)"""

    def __init__(self, expressions: Sequence[str], cache_dir: Path | None = None) -> None:
        super().__init__()
        self.supported: list[int] = []  # indexes into `expressions` that hyperscan runs
        candidates = [i for i, text in enumerate(expressions) if text and not _UNSUPPORTED.search(text)]
        if hyperscan is not None and candidates:
            flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
            self._database, self.supported = _cached(
                cache_dir, "regex", list(expressions), flags, lambda: _compilable(expressions, candidates, flags))
        self.unsupported = frozenset(range(len(expressions))) - frozenset(self.supported)

    def scan(self, data: bytes) -> dict[int, int]:
        """Expression index -> byte offset where its first match in `data` ends."""
        if self._database is None:
            return {}
        matched: dict[int, int] = {}

        def on_match(expression_id: int, _start: int, end: int, _flags: int, _context: Any) -> None:
            matched[expression_id] = end

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return matched


def _compile(expressions: Sequence[str], indexes: list[int], flags: int, literal: bool = False) -> Any:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[expressions[i].encode("utf-8") for i in indexes], ids=indexes, elements=len(indexes),
        flags=flags, literal=literal,
    )
    return database


def _compilable(expressions: Sequence[str], indexes: list[int], flags: int) -> tuple[Any, list[int]]:
    """The database of the subset hyperscan accepts, found by bisection (its errors do not say which
    expression failed), and that subset."""
    try:
        return _compile(expressions, indexes, flags), indexes
    except hyperscan.error:
        if len(indexes) == 1:
            return None, []
    middle = len(indexes) // 2
    supported = _compilable(expressions, indexes[:middle], flags)[1] + \
        _compilable(expressions, indexes[middle:], flags)[1]
    return (_compile(expressions, supported, flags) if supported else None), supported


def _cached(cache_dir: Path | None, kind: str, expressions: list[str], flags: int,
            build: Any) -> tuple[Any, list[int]]:
    """`build()` -> (database, supported indexes), through an on-disk cache when `cache_dir` is given."""
    if cache_dir is None:
        result: tuple[Any, list[int]] = build()
        return result
    digest = hashlib.sha256(json.dumps([hyperscan.__version__, kind, flags, expressions]).encode()).hexdigest()
    path = cache_dir / f"hs-{kind}-{digest[:40]}.bin"
    try:
        blob = path.read_bytes()
        header, _, serialized = blob.partition(b"\n")
        supported = json.loads(header)
        return hyperscan.loadb(serialized, mode=hyperscan.HS_MODE_BLOCK), supported
    except FileNotFoundError:
        pass
    except (OSError, ValueError, hyperscan.error) as exc:  # corrupt or from another platform: rebuild
        log.warning("ignoring fingerprint cache %s: %s", path, exc)
    database, supported = build()
    if database is not None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) as handle:
                handle.write(json.dumps(supported).encode() + b"\n" + hyperscan.dumpb(database))
            os.replace(handle.name, path)
            _prune(cache_dir, kind)
        except OSError as exc:
            log.warning("cannot write fingerprint cache in %s: %s", cache_dir, exc)
    return database, supported


def _prune(cache_dir: Path, kind: str) -> None:
    files = sorted(cache_dir.glob(f"hs-{kind}-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in files[CACHE_FILES_KEPT:]:
        stale.unlink(missing_ok=True)
