"""The scanned page parsed once (Lexbor) and shared by the performance and security steps.

`ScanContext.document` imports selectolax's deprecated Modest backend, which selectolax 1.x refuses to
load; until it switches to Lexbor the steps share this parse through `ctx.shared`.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from techscaniq.scanning.analysis import ScanContext

_KEY = "lexbor_document"


def page_document(ctx: ScanContext) -> LexborHTMLParser | None:
    """The page's HTML tree, or None when the response is not HTML."""
    if not ctx.html:
        return None
    document = ctx.shared.get(_KEY)
    if not isinstance(document, LexborHTMLParser):
        document = LexborHTMLParser(ctx.html)
        ctx.shared[_KEY] = document
    return document
