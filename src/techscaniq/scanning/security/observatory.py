"""Runs every graded header test on one fetched page, the way the HTTP Observatory grades a site."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security import headers
from techscaniq.scanning.security.cookies import cookies_test
from techscaniq.scanning.security.csp import csp_test
from techscaniq.scanning.security.grading import grade_for, score_findings
from techscaniq.scanning.security.preload import is_preloaded
from techscaniq.scanning.security.redirection import redirection_test
from techscaniq.scanning.security.sri import sri_test

# The Origin sent by the CORS probe: a name that can never be a real site (RFC 2606 .invalid).
CORS_PROBE_ORIGIN = "https://cors-probe.techscaniq.invalid"


@dataclass
class HeaderGrade:
    score: int
    grade: str
    findings: list[SecurityFinding]

    @property
    def tests_passed(self) -> int:
        return sum(1 for item in self.findings if item.passed)

    @property
    def tests_failed(self) -> int:
        return sum(1 for item in self.findings if not item.passed)


# The types a browser renders as an HTML document (and so reads <meta> and <script> in).
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def meta_equivalents(document: HTMLParser | None) -> dict[str, list[str]]:
    """The <meta> policies browsers honour: `<meta http-equiv="Content-Security-Policy">` (every non-empty
    one: an empty policy is ignored) and `<meta name="referrer">` (the last one). Browsers honour no
    http-equiv for Referrer-Policy or Cross-Origin-Resource-Policy, so those are not read."""
    found: dict[str, list[str]] = {}
    if document is None:
        return found
    for meta in document.css("meta"):
        attributes = meta.attributes
        content = (attributes.get("content") or "").strip()
        if not content:
            continue
        if (attributes.get("http-equiv") or "").strip().lower() == "content-security-policy":
            found.setdefault("content-security-policy", []).append(content)
        elif (attributes.get("name") or "").strip().lower() == "referrer":
            found["referrer-policy"] = [content]
    return found


def grade_headers(
    fetch: FetchResult,
    *,
    document: HTMLParser | None,
    http_fetch: FetchResult | None,
    cors_fetch: FetchResult | None = None,
    cors_origin: str = CORS_PROBE_ORIGIN,
    site_host: str | None = None,
) -> HeaderGrade:
    """Grade a page. `http_fetch` is the fetch of its http:// URL (None: HTTP not served); `cors_fetch`
    a fetch sent with `Origin: cors_origin` (None: judge CORS from the page's own response); `site_host`
    the scanned host (default: the page's), which SRI compares script hosts with.

    Only an HTML document (by its Content-Type) is read for <meta> policies; SRI also reads a body sent
    without a Content-Type, as the reference does. `text/plain` or XML is neither."""
    page_url = fetch.final_url or fetch.url
    https = urlsplit(page_url).scheme == "https"
    verified = bool(fetch.tls and fetch.tls.verified)
    kind = media_type(fetch.content_type)
    is_html = kind in HTML_TYPES
    meta = meta_equivalents(document if is_html else None)

    csp = csp_test(
        fetch.header_values("content-security-policy"),
        meta.get("content-security-policy", []),
        fetch.header_values("content-security-policy-report-only"),
        https=https,
    )
    hsts = headers.hsts_test(fetch.header_values("strict-transport-security"), https=https, verified=verified,
                             preloaded=is_preloaded(urlsplit(page_url).hostname))
    # Only the probe's headers matter: a body cut at the probe's size limit still counts.
    cors_source = cors_fetch if cors_fetch is not None and cors_fetch.status_code is not None else fetch
    findings = [
        csp,
        cookies_test(fetch.header_values("set-cookie"), hsts_passed=hsts.passed,
                     host=urlsplit(page_url).hostname or "", https=https),
        headers.cors_test(
            cors_source.header("access-control-allow-origin"),
            cors_source.header("access-control-allow-credentials"),
            request_origin=cors_origin if cors_source is cors_fetch else None,
        ),
        redirection_test(http_fetch),
        headers.referrer_policy_test(fetch.header_values("referrer-policy"), meta.get("referrer-policy", [])),
        hsts,
        sri_test(document, page_url, is_html=is_html or not kind, site_host=site_host),
        headers.x_content_type_options_test(fetch.header("x-content-type-options")),
        headers.x_frame_options_test(
            fetch.header("x-frame-options"), csp_frame_ancestors="frame-ancestors" in csp.data.get("policy", {})
        ),
        headers.corp_test(fetch.header_values("cross-origin-resource-policy")),
        headers.coop_test(fetch.header_values("cross-origin-opener-policy")),
        headers.coep_test(fetch.header_values("cross-origin-embedder-policy")),
    ]
    score = score_findings(findings)
    return HeaderGrade(score=score, grade=grade_for(score), findings=findings)
