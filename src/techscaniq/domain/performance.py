"""Performance figures of one scan. `metrics` is flat (name -> number) so it feeds the time series."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# Canonical metric names. The config's performance_thresholds use the short aliases of the guide.
METRIC_ALIASES = {
    "load_time": "load_time_ms",
    "ttfb": "ttfb_ms",
    "size": "transfer_bytes",
    "page_weight": "page_weight_bytes",
    "fcp": "fcp_ms",
    "lcp": "lcp_ms",
    "cls": "cls",
    "tbt": "tbt_ms",
    "dns": "dns_ms",
    "connect": "connect_ms",
    "tls": "tls_ms",
    "download": "download_ms",
    "full_load": "full_load_ms",
    "requests": "resource_count",
    "redirects": "redirect_count",
}


def canonical_metric(name: str) -> str:
    return METRIC_ALIASES.get(name, name)


class PerformanceReport(BaseModel):
    """`metrics`: fetch phases (dns_ms, connect_ms, tls_ms, ttfb_ms, download_ms, load_time_ms, redirect_ms),
    sizes (transfer_bytes, decoded_bytes, compression_ratio), redirect_count, resource counts
    (resource_count, script_count, stylesheet_count, image_count, font_count, media_count, iframe_count,
    third_party_resource_count); with full_page: page_weight_bytes, page_decoded_bytes, full_load_ms,
    resources_fetched, resources_failed, <kind>_bytes; with browser: fcp_ms, lcp_ms, cls, tbt_ms,
    browser_ttfb_ms, dom_interactive_ms, dom_content_loaded_ms, load_event_ms, browser_request_count,
    browser_transfer_bytes. `details`: compression, caching headers, redirect chain, timings, page weight."""

    metrics: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        """A metric by canonical name or the guide's alias (load_time, ttfb, size, ...)."""
        return self.metrics.get(canonical_metric(name))
