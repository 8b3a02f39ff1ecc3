"""What the engine reads out of the HTML, parsed once with Lexbor (selectolax)."""

from __future__ import annotations

from functools import cached_property

from selectolax.lexbor import LexborHTMLParser

# Elements whose text is not visible page text.
_INVISIBLE = ["script", "style", "noscript", "template"]


class Document:
    """meta (name -> contents), script sources, inline scripts and inline CSS of one page."""

    def __init__(self, html: str | bytes) -> None:
        """`html` as text, or already UTF-8 encoded (then the parser need not encode it again)."""
        self.tree = LexborHTMLParser(html)
        self.meta: dict[str, list[str]] = {}
        self.script_srcs: list[str] = []
        self.inline_scripts: list[str] = []
        for node in self.tree.tags("script"):
            attrs = node.attributes
            src = attrs.get("src")
            if src:
                self.script_srcs.append(src.strip())
            else:
                content = node.text(deep=True) or ""
                if content:
                    self.inline_scripts.append(content)
        for node in self.tree.tags("meta"):
            attrs = node.attributes
            key = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv") or attrs.get("itemprop")
            meta_content = attrs.get("content")
            if key and meta_content is not None:
                self.meta.setdefault(key.lower(), []).append(meta_content)

    @cached_property
    def inline_css(self) -> list[str]:
        return [text for node in self.tree.tags("style") if (text := node.text(deep=True))]

    @cached_property
    def text(self) -> str:
        """Visible text, like a browser's `innerText`; computed only when a text pattern needs it."""
        _ = self.inline_css  # read styles before they are stripped below
        self.tree.strip_tags(_INVISIBLE)
        root = self.tree.body or self.tree.root
        return root.text(separator=" ", strip=True) if root is not None else ""
