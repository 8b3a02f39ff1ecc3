"""The interface every analysis step of a scan implements.

A scan fetches the page once; each step then reads the shared `ScanContext` and writes its own
part of the `ScanResult`. Steps run in order (technologies, performance, security) so a later
step may use an earlier one's output (e.g. security maps detected library versions to advisories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.scan import BINARY_BODY, ScanResult
from techscaniq.scanning.html_depth import bound_depth
from techscaniq.scanning.page_bytes import page_bytes_problem

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from techscaniq.scanning.fetch import Fetcher


@dataclass
class ScanContext:
    url: str
    scan_config: ScanConfig
    fetch: FetchResult
    result: ScanResult
    # Fetches extra resources (robots.txt, stylesheets, sub-resources) under the same limits and guard.
    fetcher: Fetcher | None = None
    organization_id: str | None = None
    # Free-form scratch space for steps to share derived data (e.g. parsed script URLs).
    shared: dict[str, Any] = field(default_factory=dict)
    # Nesting bound applied before any parser sees the page (see html_depth).
    html_max_depth: int = 512

    @cached_property
    def html(self) -> str:
        """The page's text for every parser; a page nested past `html_max_depth` is cut there, and the
        scan says so in `analysis_errors["page"]` (a degraded scan: the steps read the first part), as for one that
        is not valid UTF-8; a binary body is not parsed at all (`analysis_errors[BINARY_BODY]`, see page_bytes)."""
        if not _is_html(self.fetch):
            return ""
        problem = page_bytes_problem(self.fetch.body, self.fetch.encoding, self.fetch.content_type)
        if problem is not None:
            self.result.analysis_errors[BINARY_BODY if problem.binary else "page"] = problem.reason
            if problem.binary:
                return ""
        html, cut = bound_depth(self.fetch.text, self.html_max_depth)
        if cut is not None:
            earlier = self.result.analysis_errors.get("page")
            self.result.analysis_errors["page"] = f"{earlier}; {cut.reason}" if earlier else cut.reason
        return html

    @cached_property
    def document(self) -> LexborHTMLParser | None:
        """The page parsed once (Lexbor), shared by every step; None when the response is not HTML."""
        from selectolax.lexbor import LexborHTMLParser

        return LexborHTMLParser(self.html) if self.html else None


def _is_html(fetch: FetchResult) -> bool:
    content_type = (fetch.content_type or "").lower()
    return not content_type or "html" in content_type or "xml" in content_type or "text/plain" in content_type


@runtime_checkable
class Analyzer(Protocol):
    """One analysis step. `enabled` reads the config; `analyze` fills its part of `ctx.result`."""

    name: str

    def enabled(self, scan_config: ScanConfig) -> bool: ...

    async def analyze(self, ctx: ScanContext) -> None: ...
