"""The resources a page references (scripts, stylesheets, images, fonts, media, frames), read from its
HTML once, and from its stylesheets when they are fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from techscaniq.scanning.security.sites import registrable_domain

KINDS = ("script", "stylesheet", "image", "font", "media", "iframe")
MAX_REFERENCES = 5000  # distinct resources; a hostile page with a million <img> tags is cut here

_PRELOAD_KINDS = {"script": "script", "style": "stylesheet", "image": "image", "font": "font",
                  "audio": "media", "video": "media"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?([^'\")\s;]+)", re.IGNORECASE)
_FONT_FACE = re.compile(r"@font-face\s*{([^}]*)}", re.IGNORECASE)


@dataclass(frozen=True)
class Resource:
    url: str
    kind: str  # one of KINDS


def _fetchable(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _absolute(base: str, reference: str | None) -> str | None:
    reference = (reference or "").strip()
    if not reference or reference.startswith("#"):
        return None
    try:
        url = urljoin(base, reference)
    except ValueError:
        return None
    return url.split("#", 1)[0] if _fetchable(url) else None


def css_references(css: str, base: str) -> list[Resource]:
    """Fonts from @font-face rules and stylesheets from @import, resolved against the stylesheet's URL."""
    found: list[Resource] = []
    for block in _FONT_FACE.findall(css[:2_000_000]):
        for _, reference in _CSS_URL.findall(block):
            if url := _absolute(base, reference):
                found.append(Resource(url, "font"))
    for reference in _CSS_IMPORT.findall(css[:2_000_000]):
        if url := _absolute(base, reference):
            found.append(Resource(url, "stylesheet"))
    return found


def page_resources(document: LexborHTMLParser | None, page_url: str) -> list[Resource]:
    """Every distinct fetchable resource the HTML references, in document order."""
    if document is None:
        return []
    base_tag = document.css_first("base[href]")
    base = urljoin(page_url, base_tag.attributes.get("href") or "") if base_tag is not None else page_url
    found: list[Resource] = []
    seen: set[str] = set()

    def add(reference: str | None, kind: str) -> None:
        if len(found) < MAX_REFERENCES and (url := _absolute(base, reference)) and url not in seen:
            seen.add(url)
            found.append(Resource(url, kind))

    for node in document.css("script[src], link[href], img[src], video, audio, source[src], iframe[src], "
                             "embed[src], input[type=image][src], style"):
        tag, attributes = node.tag, node.attributes
        if tag == "script":
            add(attributes.get("src"), "script")
        elif tag == "link":
            rels = set((attributes.get("rel") or "").lower().split())
            if "stylesheet" in rels:
                add(attributes.get("href"), "stylesheet")
            elif rels & {"preload", "modulepreload"}:
                kind = "script" if "modulepreload" in rels else _PRELOAD_KINDS.get((attributes.get("as") or "").lower())
                if kind:
                    add(attributes.get("href"), kind)
            elif rels & {"icon", "apple-touch-icon"}:
                add(attributes.get("href"), "image")
        elif tag in ("img", "input"):
            add(attributes.get("src"), "image")
        elif tag in ("video", "audio"):
            add(attributes.get("src"), "media")
            add(attributes.get("poster"), "image")
        elif tag == "source":
            parent = node.parent
            add(attributes.get("src"), "media" if parent is not None and parent.tag in ("video", "audio") else "image")
        elif tag in ("iframe", "embed"):
            add(attributes.get("src"), "iframe")
        elif tag == "style":
            for resource in css_references(node.text(deep=True) or "", base):
                add(resource.url, resource.kind)
    return found


def dedupe(resources: list[Resource]) -> list[Resource]:
    seen: set[str] = set()
    unique: list[Resource] = []
    for resource in resources:
        if resource.url not in seen:
            seen.add(resource.url)
            unique.append(resource)
    return unique


def count_metrics(resources: list[Resource], page_url: str) -> dict[str, float]:
    """resource_count, <kind>_count for every kind, third_party_resource_count."""
    metrics = {"resource_count": float(len(resources))}
    for kind in KINDS:
        metrics[f"{kind}_count"] = float(sum(1 for resource in resources if resource.kind == kind))
    own = registrable_domain(urlsplit(page_url).hostname or "")
    metrics["third_party_resource_count"] = float(sum(
        1 for resource in resources if registrable_domain(urlsplit(resource.url).hostname or "") != own))
    return metrics
