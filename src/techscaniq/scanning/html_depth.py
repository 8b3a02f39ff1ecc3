"""A cheap bound on HTML nesting before any parser sees the page.

Lexbor's parse cost grows with the square of the nesting depth (a 1.1 MB page of unclosed `<div>`s
took minutes, with the event loop blocked). One C-speed regex pass counts open-tag nesting and cuts
the page where it passes the limit, so every parser of the scan (technologies, performance,
security) reads at most a page of bounded depth. Void elements and elements a sibling closes
implicitly (`<p>`, `<li>`, table cells...) never nest in the parser, so they are not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)")
_NOT_NESTING = frozenset({
    # void elements
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    "param", "keygen",
    # closed implicitly by a sibling or by their parent's end
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "rb", "rt", "rtc", "rp", "colgroup", "caption",
})


@dataclass(frozen=True, slots=True)
class DepthCut:
    """The page cut at `offset` (a character index) because its nesting passed `limit`."""

    offset: int
    limit: int

    @property
    def reason(self) -> str:
        return f"HTML nested deeper than {self.limit} levels: analysed the first {self.offset // 1024} KB"


def bound_depth(html: str, limit: int) -> tuple[str, DepthCut | None]:
    """The page, cut before the tag that takes it past `limit` levels of nesting (and why), or whole."""
    if html.count("<") <= limit:  # cannot be that deep: skip the scan (most pages of a few KB)
        return html, None
    depth = 0
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in _NOT_NESTING:
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > limit:
            cut = DepthCut(offset=match.start(), limit=limit)
            return html[: cut.offset], cut
    return html, None
