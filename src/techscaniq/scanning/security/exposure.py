"""Exposure: version disclosure in response headers, mixed content, and (opt-in) sensitive-path probes."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.security import SecurityFinding

CATEGORY = "exposure"

# Headers that name software; a version number in them tells an attacker which exploits to try.
DISCLOSING_HEADERS = (
    "server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator", "x-drupal-cache",
    "x-runtime-version", "x-php-version", "via",
)
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)*|/\s*\d+\b")
_HEADERS_ALWAYS_VERSIONED = frozenset({"x-aspnet-version", "x-aspnetmvc-version", "x-php-version"})

# (tag, attribute, active?) - active mixed content is blocked by browsers and can rewrite the page.
_SUBRESOURCES = (
    ("script", "src", True), ("link", "href", True), ("iframe", "src", True), ("frame", "src", True),
    ("object", "data", True), ("embed", "src", True), ("img", "src", False), ("audio", "src", False),
    ("video", "src", False), ("video", "poster", False), ("source", "src", False), ("track", "src", False),
    ("input", "src", False),
)
_LINK_SUBRESOURCE_RELS = frozenset({"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch"})

Fetch = Callable[[str], Awaitable[FetchResult]]


def _exposure(test: str, result: str, passed: bool, description: str, severity: str | None = None,
              value: str | None = None, **data: object) -> SecurityFinding:
    return SecurityFinding(
        test=test, result=result, passed=passed, description=description, category=CATEGORY,
        severity=None if passed else severity, value=value, data=dict(data),
    )


def version_disclosure(fetch: FetchResult) -> SecurityFinding:
    disclosed: dict[str, str] = {}
    for name in DISCLOSING_HEADERS:
        for value in fetch.header_values(name):
            if name in _HEADERS_ALWAYS_VERSIONED or _VERSION.search(value):
                disclosed[name] = value[:256]
    if not disclosed:
        return _exposure("version-disclosure", "version-disclosure-none", True, "No software versions in headers")
    described = ", ".join(f"{name}: {value}" for name, value in disclosed.items())
    return _exposure("version-disclosure", "version-disclosure-headers", False,
                     f"Response headers disclose software versions ({described})", "low", described, headers=disclosed)


def mixed_content(document: HTMLParser | None, page_url: str) -> SecurityFinding:
    if urlsplit(page_url).scheme != "https":
        return _exposure("mixed-content", "mixed-content-not-applicable", True, "The page is not served over HTTPS")
    active: list[str] = []
    passive: list[str] = []
    if document is not None:
        for tag, attribute, is_active in _SUBRESOURCES:
            for node in document.css(f"{tag}[{attribute}]"):
                if tag == "link":
                    rels = set((node.attributes.get("rel") or "").lower().split())
                    if not rels & _LINK_SUBRESOURCE_RELS:
                        continue
                    is_active = "stylesheet" in rels or "modulepreload" in rels
                target = (node.attributes.get(attribute) or "").strip()
                if target.lower().startswith("http:"):
                    (active if is_active else passive).append(target[:2048])
    if active:
        return _exposure("mixed-content", "mixed-content-active", False,
                         f"{len(active)} script/style/frame resources load over plain HTTP", "high",
                         active[0], active=active[:50], passive=passive[:50])
    if passive:
        return _exposure("mixed-content", "mixed-content-passive", False,
                         f"{len(passive)} images/media load over plain HTTP", "medium", passive[0],
                         passive=passive[:50])
    return _exposure("mixed-content", "mixed-content-none", True, "No subresources load over plain HTTP")


@dataclass(frozen=True)
class SensitivePath:
    path: str
    what: str
    severity: str
    matches: Callable[[FetchResult], bool]


def _text(fetch: FetchResult, limit: int = 4096) -> str:
    return fetch.body[:limit].decode("utf-8", errors="replace")


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<\s*(?:!doctype|html|head|body)\b", text[:1024], re.IGNORECASE))


def _git_head(fetch: FetchResult) -> bool:
    return bool(re.match(r"^(?:ref: refs/[\w./-]+|[0-9a-f]{40})\s*$", _text(fetch, 512)))


def _dotenv(fetch: FetchResult) -> bool:
    text = _text(fetch)
    if _looks_like_html(text):
        return False
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assignments = [line for line in lines if re.match(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=", line)]
    return bool(lines) and len(assignments) >= max(1, len(lines) // 2)


def _directory_listing(fetch: FetchResult) -> bool:
    text = _text(fetch, 16_384)
    return bool(re.search(
        r"<title>\s*(?:Index of /|Directory listing for /)|<h1>\s*Index of /|\[To Parent Directory\]", text,
        re.IGNORECASE,
    ))


SENSITIVE_PATHS = (
    SensitivePath("/.git/HEAD", "Git repository metadata", "critical", _git_head),
    SensitivePath("/.env", "environment file (often holds secrets)", "critical", _dotenv),
    SensitivePath("/", "directory listing at the site root", "medium", _directory_listing),
    SensitivePath("/uploads/", "directory listing of /uploads/", "medium", _directory_listing),
    SensitivePath("/images/", "directory listing of /images/", "low", _directory_listing),
    SensitivePath("/backup/", "directory listing of /backup/", "high", _directory_listing),
)


def _same_response(a: FetchResult, b: FetchResult) -> bool:
    """A soft-404 site answers every path with the same page; such an answer proves nothing."""
    return a.status_code == b.status_code and a.body[:16_384] == b.body[:16_384]


async def probe_sensitive_paths(
    page_url: str, fetch: Fetch, *, root: FetchResult | None = None
) -> list[SecurityFinding]:
    """Fetch each well-known path. It counts only when it answers 2xx, its content has the shape of the
    exposed thing, and the answer differs from what a random path returns (soft-404 guard)."""
    base = f"{urlsplit(page_url).scheme}://{urlsplit(page_url).netloc}"
    random_path = f"/techscaniq-{secrets.token_hex(8)}/{secrets.token_hex(4)}"
    probes = [path for path in SENSITIVE_PATHS if not (path.path == "/" and root is not None)]
    results = await asyncio.gather(
        fetch(urljoin(base, random_path)), *(fetch(urljoin(base, path.path)) for path in probes),
    )
    baseline, answers = results[0], dict(zip([path.path for path in probes], results[1:], strict=True))
    if root is not None:
        answers["/"] = root
    found: list[SecurityFinding] = []
    exposed: list[str] = []
    for path in SENSITIVE_PATHS:
        answer = answers.get(path.path)
        # A body cut at the size limit still shows what the path serves, so status alone decides.
        if answer is None or not 200 <= (answer.status_code or 0) < 300:
            continue
        if baseline.status_code is not None and _same_response(answer, baseline):
            continue
        if path.matches(answer):
            exposed.append(path.path)
            found.append(_exposure("sensitive-path", "sensitive-path-exposed", False, f"Exposed: {path.what}",
                                   path.severity, urljoin(base, path.path), path=path.path))
    if not exposed:
        found.append(_exposure("sensitive-path", "sensitive-paths-not-exposed", True,
                               "None of the probed well-known paths is exposed",
                               probed=[path.path for path in SENSITIVE_PATHS],
                               soft_404=200 <= (baseline.status_code or 0) < 300))
    return found
