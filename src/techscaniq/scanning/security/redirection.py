"""The Observatory's redirection test: plain HTTP should first redirect to HTTPS on the same host."""

from __future__ import annotations

from urllib.parse import urlsplit

from techscaniq.domain.fetch import FetchErrorCode, FetchResult
from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import finding
from techscaniq.scanning.security.preload import is_preloaded

TEST = "redirection"


def route_of(fetch: FetchResult) -> list[str]:
    """The URLs visited: the requested one, every redirect target, ending at the final URL."""
    route = [hop.url for hop in fetch.redirects] or [fetch.url]
    final = fetch.final_url or (fetch.redirects[-1].location if fetch.redirects else fetch.url)
    if route[-1] != final:
        route.append(final)
    return route


def redirection_test(http_fetch: FetchResult | None) -> SecurityFinding:
    """`http_fetch` is the fetch of the site's http:// URL (redirects followed); None: no HTTP service."""
    if http_fetch is None:
        return finding(TEST, "redirection-not-needed-no-http")
    route = route_of(http_fetch)
    if http_fetch.error is not None and http_fetch.error.code is FetchErrorCode.TLS:
        return finding(TEST, "redirection-invalid-cert", route=route)
    if http_fetch.status_code is None and not http_fetch.redirects:
        # Nothing answered over HTTP (refused, timed out, not HTTP at all): a browser cannot be served there.
        reason = http_fetch.error.code.value if http_fetch.error else None
        return finding(TEST, "redirection-not-needed-no-http", reason=reason)
    if http_fetch.tls is not None and not http_fetch.tls.verified:
        return finding(TEST, "redirection-invalid-cert", route=route)
    value = " -> ".join(route)[:8192]
    parts = [urlsplit(url) for url in route]
    if all(is_preloaded(part.hostname) for part in parts):  # a browser never makes these plain-HTTP requests
        result = "redirection-all-redirects-preloaded"
    elif len(route) == 1:
        result = "redirection-missing"
    elif parts[-1].scheme != "https":
        result = "redirection-not-to-https"
    elif parts[1].scheme == "http":
        result = "redirection-not-to-https-on-initial-redirection"
    elif parts[0].scheme == "http" and parts[1].scheme == "https" and parts[0].hostname != parts[1].hostname:
        result = "redirection-off-host-from-http"
    else:
        result = "redirection-to-https"
    return finding(TEST, result, value, route=route if len(value) < 8192 else [], status_code=http_fetch.status_code)
