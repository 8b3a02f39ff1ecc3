"""The page's scripts as the library extractors read them: the URLs of its external scripts, the text of its
inline scripts and the bodies of external scripts the scan already fetched (script_bodies), all bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from techscaniq.scanning.analysis import ScanContext
from techscaniq.scanning.script_bodies import script_bodies

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

MAX_SCRIPT_URLS = 200
MAX_INLINE_SCRIPTS = 50
_DATA_TYPES = ("json", "template", "text/html", "x-template")  # <script type=...> that holds no code


def page_scripts(document: LexborHTMLParser | None, page_url: str) -> list[str]:
    """Absolute http(s) URLs of the page's <script src>, first MAX_SCRIPT_URLS, each once."""
    if document is None:
        return []
    urls: list[str] = []
    for node in document.css("script[src]"):
        src = (node.attributes.get("src") or "").strip()
        if not src:
            continue
        url = urljoin(page_url, src)
        if urlsplit(url).scheme in ("http", "https") and url not in urls:
            urls.append(url)
            if len(urls) >= MAX_SCRIPT_URLS:
                break
    return urls


def script_texts(ctx: ScanContext, document: LexborHTMLParser | None) -> list[tuple[str, str]]:
    """(evidence, text): inline scripts ("inline script #n"), then the fetched external scripts (their URL)."""
    texts: list[tuple[str, str]] = []
    if document is not None:
        inline = [node for node in document.css("script") if not node.attributes.get("src")]
        for index, node in enumerate(inline[:MAX_INLINE_SCRIPTS], start=1):
            kind = (node.attributes.get("type") or "").lower()
            text = node.text(deep=True) or ""
            if text.strip() and not any(marker in kind for marker in _DATA_TYPES):
                texts.append((f"inline script #{index}", text))
    texts += script_bodies(ctx.shared)
    return texts
