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
}


def canonical_metric(name: str) -> str:
    return METRIC_ALIASES.get(name, name)


class PerformanceReport(BaseModel):
    metrics: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
