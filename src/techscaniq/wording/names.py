"""Human names of what the system measures: security tests (finding ids), headers, metrics with units."""

from __future__ import annotations

FINDING_TITLES = {
    "content-security-policy": "Content Security Policy (CSP)",
    "cookies": "Cookie security",
    "cross-origin-resource-sharing": "Cross-origin resource sharing (CORS)",
    "redirection": "HTTP to HTTPS redirection",
    "referrer-policy": "Referrer policy",
    "strict-transport-security": "HTTP Strict Transport Security (HSTS)",
    "subresource-integrity": "Subresource integrity (SRI)",
    "x-content-type-options": "MIME sniffing protection (X-Content-Type-Options)",
    "x-frame-options": "Clickjacking protection (X-Frame-Options)",
    "cross-origin-resource-policy": "Cross-Origin-Resource-Policy",
    "cross-origin-opener-policy": "Cross-Origin-Opener-Policy",
    "cross-origin-embedder-policy": "Cross-Origin-Embedder-Policy",
    "tls": "HTTPS",
    "tls-certificate": "Certificate trust",
    "tls-hostname": "Certificate host name",
    "tls-expiry": "Certificate expiry",
    "tls-protocol": "TLS protocol version",
    "version-disclosure": "Software versions disclosed in headers",
    "mixed-content": "Mixed content",
    "sensitive-path": "Exposed sensitive files",
    "vulnerable-library": "Known vulnerability",
}

HEADER_NAMES = {
    "content-security-policy": "Content-Security-Policy",
    "strict-transport-security": "Strict-Transport-Security",
    "x-frame-options": "X-Frame-Options",
    "x-content-type-options": "X-Content-Type-Options",
    "referrer-policy": "Referrer-Policy",
    "permissions-policy": "Permissions-Policy",
    "cross-origin-opener-policy": "Cross-Origin-Opener-Policy",
    "cross-origin-embedder-policy": "Cross-Origin-Embedder-Policy",
    "cross-origin-resource-policy": "Cross-Origin-Resource-Policy",
    "x-xss-protection": "X-XSS-Protection",
}

METRIC_NAMES = {
    "ttfb_ms": "TTFB", "load_time_ms": "Load time", "transfer_bytes": "Transfer size",
    "decoded_bytes": "Decoded size", "page_weight_bytes": "Page weight", "page_decoded_bytes": "Decoded page weight",
    "fcp_ms": "First contentful paint", "lcp_ms": "Largest contentful paint", "cls": "Cumulative layout shift",
    "tbt_ms": "Total blocking time", "dns_ms": "DNS lookup", "connect_ms": "Connect time",
    "tls_ms": "TLS handshake", "download_ms": "Download time", "full_load_ms": "Full page load",
    "redirect_ms": "Redirect time", "resource_count": "Resource count", "redirect_count": "Redirect count",
    "browser_ttfb_ms": "Browser TTFB", "compression_ratio": "Compression ratio",
}
# The config's short names (performance_thresholds) mean the same metrics.
_ALIASES = {
    "load_time": "load_time_ms", "ttfb": "ttfb_ms", "size": "transfer_bytes", "page_weight": "page_weight_bytes",
    "fcp": "fcp_ms", "lcp": "lcp_ms", "tbt": "tbt_ms", "dns": "dns_ms", "connect": "connect_ms", "tls": "tls_ms",
    "download": "download_ms", "full_load": "full_load_ms", "requests": "resource_count",
    "redirects": "redirect_count",
}


def finding_title(test: str) -> str:
    """'content-security-policy' -> 'Content Security Policy (CSP)'; 'vulnerable-library:jQuery' ->
    'Known vulnerability in jQuery'; an unknown id becomes words."""
    test, _, library = test.partition(":")
    if test == "vulnerable-library" and library:
        return f"Known vulnerability in {library}"
    if test.startswith("tls-legacy-"):
        return f"Legacy {_tls_version(test.removeprefix('tls-legacy-'))} support"
    return FINDING_TITLES.get(test) or _words(test)


def header_name(name: str) -> str:
    return HEADER_NAMES.get(name.lower()) or "-".join(part.capitalize() for part in name.split("-"))


def metric_name(metric: str) -> str:
    metric = _ALIASES.get(metric, metric)
    if metric in METRIC_NAMES:
        return METRIC_NAMES[metric]
    for suffix in ("_ms", "_bytes", "_count"):
        if metric.endswith(suffix) and metric != suffix:
            metric = metric.removesuffix(suffix)
            break
    return _words(metric)


def metric_value(metric: str, value: object) -> str:
    """A value with its unit: '120 ms', '1.4 s', '48 KB', '0.12', '7'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    metric = _ALIASES.get(metric, metric)
    if metric.endswith("_ms"):
        if value >= 10_000:
            return f"{value / 1000:.1f} s"
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if metric.endswith("_bytes"):
        for unit, size in (("MB", 1_000_000), ("KB", 1_000)):
            if value >= size:
                return f"{value / size:.1f} {unit}"
        return f"{value:.0f} B"
    if metric.endswith("_count") or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def _words(identifier: str) -> str:
    text = identifier.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _tls_version(name: str) -> str:
    return name.upper().replace("TLSV", "TLS ") if name.lower().startswith("tlsv") else name
