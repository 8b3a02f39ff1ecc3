"""Performance figures read straight from the page fetch: phase timings, sizes, compression, redirects
and the caching headers."""

from __future__ import annotations

from typing import Any

from techscaniq.domain.fetch import FetchResult

_COMPRESSIBLE = ("text/", "javascript", "json", "xml", "svg", "css")


def fetch_metrics(fetch: FetchResult) -> dict[str, float]:
    """Flat metrics of the page request. Phases the fetch did not measure are left out, never zero."""
    timings = fetch.timings
    metrics: dict[str, float] = {}
    for name, value in (
        ("dns_ms", timings.dns_ms), ("connect_ms", timings.connect_ms), ("tls_ms", timings.tls_ms),
        ("ttfb_ms", timings.ttfb_ms), ("download_ms", timings.download_ms), ("load_time_ms", timings.total_ms),
        ("redirect_ms", timings.redirect_ms),
    ):
        if value is not None:
            metrics[name] = round(float(value), 3)
    if fetch.ok:
        metrics["transfer_bytes"] = float(fetch.transfer_bytes)
        metrics["decoded_bytes"] = float(fetch.decoded_bytes)
        if fetch.transfer_bytes and fetch.decoded_bytes:
            metrics["compression_ratio"] = round(fetch.decoded_bytes / fetch.transfer_bytes, 3)
    metrics["redirect_count"] = float(len(fetch.redirects))
    return metrics


def compression_details(fetch: FetchResult) -> dict[str, Any]:
    content_type = (fetch.content_type or "").lower()
    compressible = any(marker in content_type for marker in _COMPRESSIBLE)
    encoding = (fetch.content_encoding or "").strip().lower() or None
    return {
        "content_encoding": encoding,
        "compressed": encoding not in (None, "identity"),
        "compressible": compressible,
        # A text response sent uncompressed wastes bandwidth: worth flagging in the report.
        "missed_compression": compressible and encoding in (None, "identity") and fetch.decoded_bytes > 1024,
        "transfer_bytes": fetch.transfer_bytes,
        "decoded_bytes": fetch.decoded_bytes,
    }


def parse_cache_control(value: str | None) -> dict[str, str | bool]:
    """'public, max-age=600, immutable' -> {'public': True, 'max-age': '600', 'immutable': True}."""
    directives: dict[str, str | bool] = {}
    for part in (value or "")[:2048].split(","):
        name, has_value, argument = part.strip().partition("=")
        if name:
            directives[name.lower()] = argument.strip().strip('"') if has_value else True
    return directives


def caching_details(fetch: FetchResult) -> dict[str, Any]:
    cache_control = fetch.header("cache-control")
    directives = parse_cache_control(cache_control)
    max_age: int | None = None
    for key in ("s-maxage", "max-age"):
        raw = directives.get(key)
        if isinstance(raw, str) and raw.isdigit():
            max_age = int(raw)
            break
    etag, last_modified, expires = fetch.header("etag"), fetch.header("last-modified"), fetch.header("expires")
    age = fetch.header("age")
    return {
        "cache_control": cache_control,
        "directives": directives,
        "max_age": max_age,
        "etag": etag,
        "last_modified": last_modified,
        "expires": expires,
        "age": int(age) if age and age.strip().isdigit() else None,
        "vary": fetch.header("vary"),
        "cacheable": "no-store" not in directives and bool(max_age or expires or etag or last_modified),
        "revalidatable": bool(etag or last_modified),
    }


def redirect_chain(fetch: FetchResult) -> list[dict[str, Any]]:
    return [hop.model_dump() for hop in fetch.redirects]
