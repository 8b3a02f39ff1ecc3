"""The Observatory's Subresource Integrity test: external scripts should be HTTPS and carry `integrity`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import finding
from techscaniq.scanning.security.sites import registrable_domain

TEST = "subresource-integrity"

_FULL_URL = re.compile(r"^https?://", re.IGNORECASE)
_PROTOCOL_RELATIVE = re.compile(r"^//[^/]")
# Worse last.
_ORDER = (
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # a malformed authority ("https://[x/") names no host
        return ""


def _worse(candidate: str, current: str | None) -> str:
    if current is None or _ORDER.index(candidate) > _ORDER.index(current):
        return candidate
    return current


def sri_test(document: HTMLParser | None, page_url: str, *, is_html: bool, site_host: str | None = None
             ) -> SecurityFinding:
    """`site_host`: the scanned host, which the algorithm compares script hosts with (default: the page's)."""
    if not is_html:
        return finding(TEST, "sri-not-implemented-response-not-html")
    page = urlsplit(page_url)
    page_domain = registrable_domain(site_host or page.hostname or "")
    scripts = document.css("script") if document is not None else []
    if not scripts:
        return finding(TEST, "sri-not-implemented-but-no-scripts-loaded")
    result: str | None = None
    foreign_origin = False
    external: dict[str, dict[str, str | None]] = {}
    for script in scripts:
        src = (script.attributes.get("src") or "").strip()
        if not src:
            continue
        integrity = script.attributes.get("integrity")
        relative_protocol = bool(_PROTOCOL_RELATIVE.match(src))
        full_url = bool(_FULL_URL.match(src))
        relative_origin = not relative_protocol and not full_url
        if relative_protocol:
            same_domain = True
        elif full_url:
            same_domain = registrable_domain(_host(src)) == page_domain
        else:
            same_domain = True
        secure_origin = relative_origin or (same_domain and not relative_protocol)
        secure_scheme = (full_url and src.lower().startswith("https:")) or (relative_origin and page.scheme == "https")
        if not secure_origin:
            foreign_origin = True
            if len(external) < 200:
                external[src[:2048]] = {"integrity": integrity, "crossorigin": script.attributes.get("crossorigin")}
            if integrity and not secure_scheme:
                result = _worse("sri-implemented-but-external-scripts-not-loaded-securely", result)
            elif not integrity and secure_scheme:
                result = _worse("sri-not-implemented-but-external-scripts-loaded-securely", result)
            elif not integrity:
                result = _worse("sri-not-implemented-and-external-scripts-not-loaded-securely", result)
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if result is None:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely" if foreign_origin
            else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
        )
    return finding(TEST, result, None, scripts=external)
