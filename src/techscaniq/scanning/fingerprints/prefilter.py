"""Multi-literal prefilter: one pass over a page finds which pattern literals occur in it.

Hyperscan's literal compiler scans the whole page once for thousands of literals (case-insensitive),
so only patterns whose required literal is present reach Python's `re`. Without hyperscan (an
unsupported CPU or platform) a slower pure-Python fallback gives the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

hyperscan: Any
try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan ships wheels for the platforms we support
    hyperscan = None


class LiteralPrefilter:
    def __init__(self, literals: Sequence[str]) -> None:
        self.literals = list(literals)
        self._local = threading.local()  # hyperscan scratch space must not be shared between threads
        self._database: Any = None
        if hyperscan is not None and self.literals:
            database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            database.compile(
                expressions=[literal.encode("utf-8") for literal in self.literals],
                ids=list(range(len(self.literals))),
                elements=len(self.literals),
                flags=hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH,
                literal=True,
            )
            self._database = database

    def scan(self, data: str) -> set[int]:
        """Ids (indexes into `literals`) of the literals that occur in `data`, ignoring ASCII case."""
        if not self.literals:
            return set()
        if self._database is None:
            lowered = data.lower()
            return {index for index, literal in enumerate(self.literals) if literal in lowered}
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        hits: set[int] = set()
        add = hits.add

        def on_match(literal_id: int, _start: int, _end: int, _flags: int, _context: Any) -> None:
            add(literal_id)

        self._database.scan(data.encode("utf-8", "replace"), match_event_handler=on_match, scratch=scratch)
        return hits
